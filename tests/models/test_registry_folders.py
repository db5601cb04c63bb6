"""A user's Hugging Face folders (LAYERWALK_MODEL_DIRS): each listed folder with config.json, or each folder directly
inside it that has one, is served under its name made safe and unique; GPT-2 folders as GPTs, BERT folders as
encoders; a folder that cannot be served is logged and listed as unavailable with its message, and the others are
served all the same."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
import torch

from models.families.bert import LoadedBert
from models.families.gpt import LoadedGPT
from models.registry import Registry, folder_id
from tests.models.test_bert import tiny_folder as bert_folder
from tests.models.test_hf_gpt2 import tiny_folder as gpt2_folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of model folders: a GPT-2, a BERT, a pickle-only GPT-2, another architecture, a damaged file, and a
    folder of notes (no config.json: not a model)."""
    root = tmp_path_factory.mktemp("models")
    gpt2_folder(root / "My GPT-2!")
    bert_folder(root / "bert")
    gpt2_folder(root / "pickled")
    (root / "pickled" / "model.safetensors").rename(root / "pickled" / "pytorch_model.bin")
    shutil.copytree(root / "My GPT-2!", root / "llama")
    config = json.loads((root / "llama" / "config.json").read_text())
    (root / "llama" / "config.json").write_text(json.dumps({**config, "model_type": "llama"}))
    shutil.copytree(root / "My GPT-2!", root / "damaged")
    (root / "damaged" / "model.safetensors").write_bytes(b"not a safetensors file")
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("not a model")
    return root


@pytest.fixture(scope="module")
def registry(folders: Path, tmp_path_factory: pytest.TempPathFactory) -> Registry:
    single = tmp_path_factory.mktemp("single") / "tiny-gpt"  # a model folder listed itself, named like a shipped model
    gpt2_folder(single, seed=2)
    missing = tmp_path_factory.mktemp("gone") / "nowhere"
    return Registry(model_dirs=[folders, single, missing])


def test_good_gpt2_and_bert_folders_are_served_under_their_names(registry: Registry, folders: Path) -> None:
    gpt2, bert = registry.load("my-gpt-2"), registry.load("bert")
    assert isinstance(gpt2, LoadedGPT)
    assert isinstance(bert, LoadedBert)
    where = f"loaded from your folder {folders / 'My GPT-2!'}"
    assert gpt2.record["provenance"] == {"source": "My GPT-2!", "via": where}
    assert gpt2.record["source"] == "folder"
    assert gpt2.title == "My GPT-2!: a gpt2 model from your folder"
    assert bert.record["family"] == "bert"
    ids = gpt2.tokenizer.encode("the dog bites a cat.")
    assert gpt2.tokenizer.decode([int(gpt2.next_logits(ids).argmax())]) != []
    assert bert.run_with_cache("the man is eating bread.")[0].shape[-1] == 24
    assert registry.load_all()[-3:] == [gpt2, bert, registry.load("tiny-gpt-2")]


def test_a_folder_named_like_a_shipped_model_gets_a_number(registry: Registry) -> None:
    assert "tiny-gpt" in registry.ids()
    shipped, theirs = registry.load("tiny-gpt"), registry.load("tiny-gpt-2")
    assert shipped.record.get("source") != "folder"
    assert theirs.record["source"] == "folder"
    assert folder_id(Path("/x/A  b/"), {"a-b"}) == "a-b-2"
    assert folder_id(Path("/x/..."), set()) == "model"


def test_folders_that_cannot_be_served_are_listed_with_their_message(registry: Registry, folders: Path) -> None:
    problems = registry.unavailable
    assert set(problems) == {"pickled", "llama", "damaged", "nowhere"}
    assert problems["pickled"].startswith(f"{folders / 'pickled'}: the weights are only a pickle (pytorch_model.bin)")
    assert problems["llama"] == (
        f"{folders / 'llama'}: config.json's model_type is 'llama', which layerwalk does not read (it reads 'gpt2', "
        "'bert'). Fix: point LAYERWALK_MODEL_DIRS at folders of those architectures."
    )
    assert problems["damaged"].startswith(f"{folders / 'damaged'}: it could not be read (")
    assert problems["nowhere"].endswith("nowhere: there is no such folder. Fix: fix LAYERWALK_MODEL_DIRS.")
    for model_id, message in problems.items():
        assert ". Fix: " in message
        with pytest.raises(KeyError, match="Unknown model"):
            registry.load(model_id)


def test_a_listed_folder_without_models_is_reported(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    found = Registry(tmp_path / "no-weights", [tmp_path])
    assert found.ids() == []
    assert found.unavailable == {
        tmp_path.name.lower(): f"{tmp_path}: neither it nor any folder directly inside it holds config.json. Fix: "
        "list a Hugging Face model folder (config.json, model.safetensors, tokenizer.json), or the folder that holds "
        "such folders."
    }


def test_each_unservable_folder_is_logged_at_start_up(folders: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="models.registry"), torch.no_grad():
        found = Registry(folders / "none-here", [folders])
    assert sorted(found.ids()) == ["bert", "my-gpt-2"]
    logged = [r.getMessage() for r in caplog.records if r.name == "models.registry"]
    assert len(logged) == 3
    assert all(m.startswith(f"model folder not served: {folders}/") for m in logged)
    assert any("pickled: the weights are only a pickle" in m for m in logged)
