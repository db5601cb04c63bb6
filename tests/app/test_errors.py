"""Bad input gets a 4xx whose message names the problem and the fix (every case: error_cases.py). Never a 500."""

from __future__ import annotations

import pytest

from app.main import create_app
from tests.app.conftest import Client
from tests.app.error_cases import SECTIONS, Case
from tests.app.errors_catalogue import COMMAND, DOC, render

FORWARD = "/api/models/sqrt-mlp-2x2/forward"
JSON = {"content-type": "application/json"}
PARAMS = [pytest.param(case, id=f"{section}: {case.title}") for section, cases in SECTIONS.items() for case in cases]


@pytest.mark.parametrize("case", PARAMS)
def test_each_error_case_gets_its_status_and_exact_message(client: Client, case: Case) -> None:
    response = case.send(client)
    payload = response.json()
    assert (response.status_code, payload["detail"]) == (case.status, case.message)
    assert response.content.isascii()  # bad input quoted back is escaped, so every answer encodes
    if case.status != 422:
        assert payload == {"detail": case.message}
        return
    errors = payload["errors"]  # one per bad field, each naming its field; together they are the detail
    assert all(e["field"] in e["message"] for e in errors)
    assert " ".join(e["message"] for e in errors) == case.message


@pytest.mark.parametrize(
    ("path", "body", "word"),
    [
        ("/api/models/textnet-2d-sgd/forward", {"input": "horse"}, "horse"),  # a vocabulary listed whole
        ("/api/models/tiny-gpt/forward", {"input": "the dogs that chased the zebra"}, "zebra"),  # nearest words
        ("/api/models/tiny-translator/forward", {"input": "the cat", "target": "le chien zut"}, "zut"),
    ],
)
def test_a_word_outside_the_vocabulary_is_named_for_the_page(
    client: Client, path: str, body: dict[str, str], word: str
) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["unknown"] == word
    assert f"'{word}' is not in the vocabulary" in error["message"]


def test_the_errors_catalogue_is_what_the_cases_give_now(client: Client) -> None:
    written = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    assert written == render(client), f"docs/errors.md is out of date: regenerate it with `{COMMAND}`"


def test_a_body_just_under_the_limit_is_read_whole(client: Client) -> None:
    body = b'{"input": 2.0}'.ljust(16_384, b" ")
    assert client.post(FORWARD, content=body, headers=JSON).status_code == 200


def test_x_outside_the_domain_is_served_and_flagged(client: Client) -> None:
    response = client.post(FORWARD, json={"input": 25.0})
    assert response.status_code == 200
    assert response.json()["output"]["extrapolating"] is True


def test_an_unexpected_failure_is_a_500_without_a_stack_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app()

    def broken(*_args: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("app.presenters.mlp.MLPPresenter.forward", broken)
    response = Client(app).post(FORWARD, json={"input": 1.0})
    assert response.status_code == 500
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
