"""A family defined in the tests alone (tests/toy/family.py) is served end to end once registered: listed, detailed,
run, generated from, with a page, and its numbers are its module's own. No file outside its folder names it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from app.config import Settings
from app.main import create_app
from tests.app.conftest import Client
from tests.toy import family as toy

URL = f"/api/models/{toy.MODEL_ID}"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    threads = torch.get_num_threads()
    folder: Path = toy.weights_in(tmp_path_factory.mktemp("toy"))  # training pins torch to one thread
    torch.set_num_threads(threads)
    with toy.registered():
        yield Client(create_app(Settings(weights_dir=folder)))


def test_the_new_family_is_listed_and_detailed(client: Client) -> None:
    [summary] = client.get("/api/models").json()
    assert (summary["id"], summary["family"]) == (toy.MODEL_ID, "toy")
    detail = client.get(URL).json()
    assert detail["input"] == "text"
    assert detail["vocab"] == ["a", "b", "c", "."]
    assert detail["hook_names"] == ["hook_embed", "hook_hidden", "hook_logits"]
    assert detail["training"]["command"] == f"python -m models.train {toy.MODEL_ID}"


def test_its_forward_pass_recomputes_step_by_step_from_its_weights(client: Client) -> None:
    result = client.post(f"{URL}/forward", json={"input": "a b", "temperature": 0.5}).json()
    steps = {s["name"]: s for s in result["steps"]}
    assert result["tokens"] == ["a", "b"]
    e = torch.tensor(steps["hook_embed"]["data"])  # the last word's row of the table
    hidden, logits = steps["hook_hidden"], steps["hook_logits"]
    z = torch.tensor(hidden["W"]) @ e + torch.tensor(hidden["b"])
    torch.testing.assert_close(torch.tensor(hidden["data"]), torch.relu(z))
    assert hidden["activation"] == "ReLU"
    y = torch.tensor(logits["W"]) @ torch.tensor(hidden["data"]) + torch.tensor(logits["b"])
    torch.testing.assert_close(torch.tensor(logits["data"]), y)
    probs = torch.softmax(y.double() / 0.5, dim=-1)
    torch.testing.assert_close(torch.tensor(result["output"]["probs"], dtype=torch.float64), probs)
    assert result["output"]["prediction"] == "c"  # it learned TEXT: after b comes c


def test_it_generates_text_and_refuses_what_it_does_not_do(client: Client) -> None:
    generated = client.post(f"{URL}/generate", json={"prompt": "a", "temperature": 0}).json()
    assert generated["text"].startswith("a b c")
    refused = client.post(f"{URL}/compare", json={"input": "a", "other": "b"})
    assert refused.status_code == 404
    assert "does not compare two inputs" in refused.json()["detail"]


def test_its_page_is_the_page_any_family_gets(client: Client) -> None:
    html = client.get(f"/models/{toy.MODEL_ID}").text
    assert "Toy bigram" in html
    assert "/static/js/pages/model.js" in html
    assert f'data-forward-url="http://testserver{URL}/forward"' in html
