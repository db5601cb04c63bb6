"""LAYERWALK_MODEL_DIRS through the API: a user's GPT-2 folder is listed and answers a forward request with every
step; a folder that cannot be served is listed as unavailable with its problem and the fix, its id is a 404 that
says the same, and the server starts all the same."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from transformers import GPT2LMHeadModel

from app.config import Settings
from app.main import create_app
from tests.app.conftest import Client
from tests.models.test_bert import tiny_folder as tiny_bert_folder
from tests.models.test_hf_gpt2 import tiny_folder

WIDE = 50_257


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    tiny_folder(root / "my-gpt2")
    tiny_bert_folder(root / "my-bert")
    tiny_folder(root / "long-gpt2", n_positions=256)
    tiny_folder(root / "wide-gpt2", vocab_size=WIDE)  # GPT-2's own vocabulary size; the table padded past the file's
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


def reference_logits(folder: Path, ids: list[int]) -> torch.Tensor:
    """[pos, vocab] from transformers' own eager forward of the folder."""
    model = GPT2LMHeadModel.from_pretrained(folder, attn_implementation="eager")
    model.train(False)
    with torch.no_grad():
        logits: torch.Tensor = model(torch.tensor([ids])).logits[0].double()
    return logits


def test_a_wide_vocabulary_sends_its_likeliest_tokens_and_the_mass_of_the_rest(client: Client, folders: Path) -> None:
    detail = client.get("/api/models/wide-gpt2").json()
    assert (len(detail["vocab"]), detail["limits"]["whole_vocab"]) == (WIDE, 1024)
    body = {"input": "the dog bites a cat.", "hooks": ["hook_logits"], "temperature": 0.7}
    response = client.post("/api/models/wide-gpt2/forward", json=body)
    assert response.status_code == 200, response.text
    assert len(response.content) < 30_000  # not the 3.3 MB of every token's logit, scaled logit and probability
    answer = response.json()
    logits = reference_logits(folders / "wide-gpt2", answer["ids"])
    last = logits[-1]
    probs = torch.softmax(last / 0.7, dim=0)
    out = answer["output"]
    likeliest = torch.argsort(last, descending=True)[:64].tolist()
    assert out["ids"] == likeliest
    assert out["probs"] == pytest.approx(probs[likeliest].tolist(), abs=1e-6)
    assert out["logits"] == pytest.approx(last[likeliest].tolist(), abs=1e-5)
    assert out["rest"] == pytest.approx(1 - float(probs[likeliest].sum()), abs=1e-6)
    assert (out["kept"], out["kept_count"]) == (likeliest, WIDE)  # T alone keeps every token
    assert out["prediction"] == detail["vocab"][likeliest[0]]

    step = answer["steps"][0]
    columns = step["columns"]
    assert step["shape"] == [len(answer["ids"]), len(columns)]
    assert set(logits.argmax(dim=1).tolist()) <= set(columns)
    best = logits.max(dim=0).values
    assert len(columns) == 64
    assert sorted(columns, key=lambda i: -float(best[i])) == columns
    left_out = torch.ones(WIDE, dtype=torch.bool)
    left_out[columns] = False
    assert float(best[left_out].max()) <= min(float(best[i]) for i in columns)  # no larger logit was left out
    assert torch.tensor(step["data"]).double() == pytest.approx(logits[:, columns], abs=1e-4)  # 4 decimals

    explained = client.post(
        "/api/models/wide-gpt2/explain", json={**body, "hook": "hook_logits", "index": [2, columns[5]]}
    ).json()
    assert explained["value"] == pytest.approx(step["data"][2][5], abs=1e-4)  # the column's id, not its place


def test_top_k_keeps_its_count_and_a_small_vocabulary_goes_out_whole(client: Client) -> None:
    wide = client.post("/api/models/wide-gpt2/forward", json={"input": "the dog", "top_k": 5}).json()["output"]
    assert (len(wide["kept"]), wide["kept_count"], wide["rest"]) == (5, 5, 0.0)
    assert wide["kept"] == wide["ids"][:5]
    assert sum(wide["probs"]) == pytest.approx(1)
    small = client.post("/api/models/my-gpt2/forward", json={"input": "the dog"}).json()["output"]
    vocab = client.get("/api/models/my-gpt2").json()["vocab"]
    assert (small["ids"], small["rest"], len(small["probs"]), small["kept_count"]) == (
        None,
        0.0,
        len(vocab),
        len(vocab),
    )
