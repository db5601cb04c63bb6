"""LAYERWALK_MODEL_DIRS through the API: a user's GPT-2 folder is listed and answers a forward request with every
step; a folder that cannot be served is listed as unavailable with its problem and the fix, its id is a 404 that
says the same, and the server starts all the same."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.config import Settings
from app.main import create_app
from tests.app.conftest import Client
from tests.models.test_bert import tiny_folder as tiny_bert_folder
from tests.models.test_hf_gpt2 import tiny_folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    tiny_folder(root / "my-gpt2")
    tiny_bert_folder(root / "my-bert")
    tiny_folder(root / "long-gpt2", n_positions=256)
    tiny_folder(root / "pickled")
    (root / "pickled" / "model.safetensors").rename(root / "pickled" / "pytorch_model.bin")
    return root


@pytest.fixture(scope="module")
def client(folders: Path) -> Client:
    return Client(create_app(Settings(model_dirs=[folders])))


def test_the_list_holds_the_folder_model_and_the_unavailable_one(client: Client, folders: Path) -> None:
    listed = client.get("/api/models").json()
    served = {m["id"]: m for m in listed if m["available"]}
    assert served["my-gpt2"]["family"] == "gpt"
    assert served["tiny-gpt"]["available"] is True
    unavailable = [m for m in listed if not m["available"]]
    assert unavailable == [
        {
            "id": "pickled",
            "available": False,
            "problem": f"{folders / 'pickled'}: the weights are only a pickle (pytorch_model.bin), which layerwalk "
            "never unpickles (unpickling can run any code). Fix: convert it once with transformers: "
            "AutoModel.from_pretrained(folder).save_pretrained(folder, safe_serialization=True), which writes "
            "model.safetensors.",
        }
    ]
    assert listed[-1] == unavailable[0]  # after every model served


def test_the_folder_model_answers_forward_with_every_step(client: Client) -> None:
    response = client.post("/api/models/my-gpt2/forward", json={"input": "the dog bites a cat."})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["tokens"][:3] == ["the", "Ġdog", "Ġbites"]  # byte-level BPE pieces, Ġ marking a space
    assert answer["steps"][0]["name"] == "hook_embed"
    detail = client.get("/api/models/my-gpt2").json()
    assert answer["output"]["prediction"] in detail["vocab"]
    assert detail["training"]["source"] == "folder"  # not trained here: where it was found instead


def test_an_unavailable_id_is_a_404_with_its_problem(client: Client, folders: Path) -> None:
    response = client.post("/api/models/pickled/forward", json={"input": "the dog"})
    assert response.status_code == 404
    assert response.json()["detail"].startswith(f"'pickled' is not served: {folders / 'pickled'}: the weights are")


def test_the_setting_reads_folders_separated_like_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAYERWALK_MODEL_DIRS", f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b c'}{os.pathsep}")
    assert Settings().model_dirs == [tmp_path / "a", tmp_path / "b c"]
    monkeypatch.delenv("LAYERWALK_MODEL_DIRS")
    assert Settings().model_dirs == []


def test_a_bert_folder_has_a_detail_and_answers_forward_and_compare(client: Client) -> None:
    detail = client.get("/api/models/my-bert")
    assert detail.status_code == 200, detail.text
    assert detail.json()["training"]["source"] == "folder"
    forward = client.post("/api/models/my-bert/forward", json={"input": "the dog bites a cat."})
    assert forward.status_code == 200, forward.text
    compare = client.post("/api/models/my-bert/compare", json={"input": "the dog", "other": "a cat"})
    assert compare.status_code == 200, compare.text
    assert client.get("/models/my-bert").status_code == 200


def test_a_gpt2_folder_reads_at_most_128_tokens_a_page(client: Client) -> None:
    detail = client.get("/api/models/long-gpt2").json()
    assert (detail["config"]["n_ctx"], detail["limits"]["max_tokens"]) == (256, 128)
    long = client.post("/api/models/long-gpt2/forward", json={"input": "a " * 140})
    assert long.status_code == 422
    assert "This page reads at most 128" in long.json()["detail"]
