"""Bad input gets a 4xx whose message names the problem and the fix. Never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.main import create_app
from tests.app.conftest import Client

FORWARD = "/api/models/sqrt-mlp-2x2/forward"
JSON = {"content-type": "application/json"}

BAD_BODIES = [
    pytest.param('{"input": NaN}', "input", "not a finite number", id="nan"),
    pytest.param('{"input": Infinity}', "input", "not a finite number", id="infinity"),
    pytest.param('{"input": -Infinity}', "input", "not a finite number", id="minus-infinity"),
    pytest.param('{"input": 1e400}', "input", "not a finite number", id="overflowing-literal"),
    pytest.param('{"input": 1e6}', "input", "between -1000 and 1000", id="far-out-of-range"),
    pytest.param('{"input": "four"}', "input", "takes a number, got the string 'four'", id="string"),
    pytest.param('{"input": true}', "input", "boolean true", id="boolean"),
    pytest.param('{"input": null}', "input", "expected a number", id="null"),
    pytest.param('{"input": [1]}', "input", "expected a number", id="array"),
    pytest.param("{}", "input", "'input' is missing", id="missing"),
    pytest.param('{"input": 1, "x": 2}', "x", "'x' is not a field", id="unknown-field"),
    pytest.param("{not json", "body", "not valid JSON", id="malformed-json"),
    pytest.param("", "body", "body is empty", id="empty-body"),
    pytest.param("[1, 2]", "body", "must be a JSON object", id="array-body"),
    pytest.param('{"input": 1' + "0" * 400 + "}", "input", "401 digits is too large", id="huge-integer"),
]


@pytest.mark.parametrize(("body", "field", "problem"), BAD_BODIES)
def test_bad_forward_input_is_a_422_naming_field_problem_and_fix(
    client: Client, body: str, field: str, problem: str
) -> None:
    response = client.post(FORWARD, content=body, headers=JSON)
    assert response.status_code == 422, response.text
    payload = response.json()
    assert problem in payload["detail"]
    assert any(e["field"] == field for e in payload["errors"])
    assert "Send" in payload["detail"] or "See /docs" in payload["detail"]  # and says what to do instead


def test_one_bad_field_gives_one_message_even_for_a_union_type(client: Client) -> None:
    payload = client.post(FORWARD, json={"input": [1]}).json()
    assert len(payload["errors"]) == 1


@pytest.mark.parametrize("path", ["/api/models/nope", "/models/nope"])
def test_an_unknown_model_is_a_404_naming_the_known_ids(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    known = "sqrt-mlp-16x16, sqrt-mlp-2x2, textnet-2d-sgd, textnet-4d-adam, tiny-gpt, tiny-translator"
    assert response.json() == {"detail": f"Unknown model 'nope'. Known: {known}"}


def test_forward_on_an_unknown_model_is_a_404(client: Client) -> None:
    assert client.post("/api/models/nope/forward", json={"input": 1.0}).status_code == 404


def test_a_body_over_the_declared_limit_is_a_413_naming_the_limit_and_setting(client: Client) -> None:
    response = client.post(FORWARD, content=b'{"input": 1' + b" " * 20_000 + b"}", headers=JSON)
    assert response.status_code == 413
    assert "limit is 16384 bytes" in response.json()["detail"]
    assert "LAYERWALK_MAX_BODY_BYTES" in response.json()["detail"]


def test_a_streamed_body_without_length_is_cut_off_at_the_limit(client: Client) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b" " * 1000

    response = client.post(FORWARD, content=chunks(), headers=JSON)
    assert response.status_code == 413


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

    monkeypatch.setattr("app.families.mlp.forward", broken)
    response = Client(app).post(FORWARD, json={"input": 1.0})
    assert response.status_code == 500
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize("content_type", [None, "text/plain"])
def test_json_sent_without_a_json_content_type_is_told_which_header_to_send(
    client: Client, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post(FORWARD, content=b'{"input": 4}', headers=headers)
    assert response.status_code == 422
    assert "Content-Type: application/json" in response.json()["detail"]


def test_deeply_nested_json_is_a_400_that_says_what_to_send(client: Client) -> None:
    response = client.post(FORWARD, content="[" * 5000 + "]" * 5000, headers=JSON)
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_an_integer_too_long_for_the_json_parser_is_a_400_that_says_so(client: Client) -> None:
    response = client.post(FORWARD, content='{"input": 1' + "0" * 5000 + "}", headers=JSON)
    assert response.status_code == 400
    assert "a number too long" in response.json()["detail"]


def test_a_wrong_method_is_a_405_naming_the_allowed_one(client: Client) -> None:
    response = client.get(FORWARD)
    assert response.status_code == 405
    assert response.json()["detail"] == f"GET is not allowed on {FORWARD}. Use POST; see /docs."


@pytest.mark.parametrize("path", ["/api/nothing", "/static/nope.js", "/api/models/..%2Fweights"])
def test_an_unknown_path_is_a_404_pointing_at_the_model_list(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "/api/models" in response.json()["detail"]
