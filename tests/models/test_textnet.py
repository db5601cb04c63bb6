"""The text net: its walk recomputes layer by layer, and the shipped nets behave as their records say."""

from __future__ import annotations

import json

import pytest
import torch

from models.data.textpairs import PAIRS, VOCAB
from models.hooks import hook_names, run_with_cache
from models.mlp import ReLULayer
from models.registry import WEIGHTS_DIR
from models.textnet import TextNet, TextNetConfig
from models.tokenizers import UnknownTokenError, WordTokenizer
from models.training.loop import train_seed
from models.training.textnet import RECIPES, greedy_chains, predictions
from tests import shipped

TEXTNETS = ["textnet-2d-sgd", "textnet-4d-adam"]


def test_the_vocabulary_is_the_articles_seven_words() -> None:
    assert VOCAB == ["hello", "world", "cat", "dog", "!", "silly", "cute"]
    for model_id in TEXTNETS:
        assert list(shipped.textnet(model_id).module.config.vocab) == VOCAB


def test_text_net_hook_names_are_pinned_because_they_are_json_keys() -> None:
    names = hook_names(TextNet(TextNetConfig(vocab=tuple(VOCAB))))
    assert names == [
        "hook_embed",
        "layers.0.hook_z",
        "layers.0.hook_a",
        "layers.1.hook_z",
        "layers.1.hook_a",
        "hook_logits",
    ]


@pytest.mark.parametrize("model_id", TEXTNETS)
def test_the_walk_recomputes_from_the_table_row_to_the_logits(model_id: str) -> None:
    net = shipped.textnet(model_id).module
    ids = torch.arange(len(VOCAB))  # every word at once: [vocab]
    logits, cache = run_with_cache(net, ids)
    e = cache["hook_embed"]
    assert torch.equal(e, net.embed.weight[ids])  # the embedding is the table row
    a = e
    for i, layer in enumerate(net.layers):
        assert isinstance(layer, ReLULayer)
        z = cache[f"layers.{i}.hook_z"]
        torch.testing.assert_close(z, a @ layer.linear.weight.T + layer.linear.bias)  # z = W·a + b
        a = cache[f"layers.{i}.hook_a"]
        assert torch.equal(a, torch.clamp(z, min=0.0))  # a = ReLU(z)
    torch.testing.assert_close(cache["hook_logits"], a @ net.unembed.weight.T + net.unembed.bias)
    assert torch.equal(logits, cache["hook_logits"])


def test_the_sgd_net_falls_into_the_dog_loop_as_recorded() -> None:
    model = shipped.textnet("textnet-2d-sgd")
    record = json.loads((WEIGHTS_DIR / "textnet-2d-sgd.json").read_text())
    chains = greedy_chains(model.module)  # recomputed from the shipped weights
    assert chains == record["greedy_chains"]
    assert any(c["loop"] == ["dog", "dog"] for c in chains)
    dog = model.next_logits([model.tokenizer.id_of("dog")])
    assert VOCAB[int(dog.argmax())] == "dog"  # dog predicts dog
    assert len({p["predicted"] for p in predictions(model.module)}) >= 2  # a trap, not a dead net


def test_the_adam_net_predicts_all_six_pairs_and_every_chain_reaches_the_end() -> None:
    model = shipped.textnet("textnet-4d-adam")
    for source, target in PAIRS:
        logits = model.next_logits([model.tokenizer.id_of(source)])
        assert VOCAB[int(logits.argmax())] == target, source
    assert all(c["stop_reason"] == "eos" for c in greedy_chains(model.module))


@pytest.mark.parametrize("model_id", TEXTNETS)
def test_the_recorded_predictions_are_those_of_the_shipped_weights(model_id: str) -> None:
    record = json.loads((WEIGHTS_DIR / f"{model_id}.json").read_text())
    assert predictions(shipped.textnet(model_id).module) == record["predictions"]
    assert record["seed"] == record["seed_search"]["tried"][-1]["seed"]
    assert record["seed_search"]["tried"][-1]["meets"] is True
    assert not any(t["meets"] for t in record["seed_search"]["tried"][:-1])


def test_the_tokenizer_lowercases_splits_punctuation_and_names_an_unknown_word() -> None:
    tok = WordTokenizer(VOCAB)
    assert tok.decode(tok.encode("Hello  world!")) == ["hello", "world", "!"]
    with pytest.raises(UnknownTokenError, match=r"'horse' is not in the vocabulary \(hello, world, cat"):
        tok.encode("hello horse")


@pytest.mark.parametrize("model_id", TEXTNETS)
def test_retraining_at_the_recorded_seed_gives_the_shipped_weights(model_id: str) -> None:
    record = json.loads((WEIGHTS_DIR / f"{model_id}.json").read_text())
    model, curve = train_seed(RECIPES[model_id], record["seed"])
    torch.testing.assert_close(model.state_dict(), shipped.textnet(model_id).module.state_dict(), rtol=1e-4, atol=1e-6)
    assert [loss for _, loss in curve] == pytest.approx([loss for _, loss in record["loss_curve"]], rel=1e-4)
