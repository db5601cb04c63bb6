"""Our GPT, loaded from a Hugging Face GPT-2 folder, computes what `transformers` computes (its eager forward, the
reference): logits, every layer's hidden state and attention pattern within 1e-5, with GPT-2's learned positions,
tanh GELU, its layer norms' ε and the unembedding tied to the embedding table (or not, when the config says so); its
byte-level BPE tokenizer reads text through the `tokenizers` library; every value unfolds to itself; and a folder it
cannot serve is refused with a message that names the folder, the problem and the fix (a pickle is never opened)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GPT2Config, GPT2LMHeadModel

from models.explain import NextToken
from models.families.gpt import LoadedGPT
from models.hf import FolderError, read_gpt2
from tests.models.trap import pickled_weights

EOT = "<|endoftext|>"
CORPUS = ["the dog bites the man. the man bites the dog.", "a cat sat on the mat, and the dog ran after it."]
TEXT = "the dog bites a cat."
VOCAB_SIZE = 300  # more rows than the tokenizer has tokens: GPT-2 checkpoints often pad their table
TOL = 1e-5


@pytest.fixture(autouse=True)
def no_grad() -> Iterator[None]:
    with torch.no_grad():
        yield


def byte_level_bpe() -> Tokenizer:
    """GPT-2's kind of tokenizer: every byte a token, merges learned from a small corpus, and the end-of-text token
    as id 0."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE, special_tokens=[EOT], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )  # fmt: skip
    tokenizer.train_from_iterator(CORPUS * 4, trainer)
    return tokenizer


def tiny_folder(folder: Path, seed: int = 0, **config: Any) -> GPT2LMHeadModel:
    """A random GPT-2 (2 layers, 2 heads of 8, d_model 16, 32 positions) saved as a Hugging Face folder with a
    byte-level BPE tokenizer.json. Every parameter is jittered, layer norms included, so a mapped-wrong tensor cannot
    hide; ε is not the default, so a layer norm that ignored the config would show."""
    torch.manual_seed(seed)
    settings: dict[str, Any] = {
        "n_layer": 2, "n_head": 2, "n_embd": 16, "vocab_size": VOCAB_SIZE, "n_positions": 32, "bos_token_id": 0,
        "eos_token_id": 0, "layer_norm_epsilon": 1e-3, **config,
    }  # fmt: skip
    model = GPT2LMHeadModel(GPT2Config(**settings))
    model.set_attn_implementation("eager")  # the explicit path, which returns its attention patterns
    model.train(False)  # evaluation mode: no dropout
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    model.save_pretrained(folder, safe_serialization=True)
    byte_level_bpe().save(str(folder / "tokenizer.json"))
    return model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[LoadedGPT, GPT2LMHeadModel]:
    folder = tmp_path_factory.mktemp("tiny-gpt2")
    reference = tiny_folder(folder)
    return LoadedGPT.load_folder("tiny-gpt2", {"title": "tiny"}, folder), reference


def largest_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape
    return float((a - b).abs().max())


def differences(model: LoadedGPT, reference: GPT2LMHeadModel, text: str) -> dict[str, float]:
    """The largest difference of the logits, of each hidden state transformers gives (the embeddings' sum, each
    block's output, the last one after ln_f) and of each layer's attention pattern."""
    ids = model.tokenizer.encode(text)
    logits, cache = model.run_with_cache(ids)
    theirs = reference(torch.tensor([ids]), output_hidden_states=True, output_attentions=True)
    n = model.module.config.n_layers
    ours_states = [cache["blocks.0.hook_resid_pre"]]
    ours_states += [cache[f"blocks.{i}.hook_resid_post"] for i in range(n - 1)]
    ours_states += [cache["ln_final.hook_normalized"]]  # transformers' last hidden state is after ln_f
    assert len(theirs.hidden_states) == len(ours_states) == n + 1
    found = {"logits": largest_difference(logits, theirs.logits[0])}
    found |= {f"hidden {i}": largest_difference(o, t[0]) for i, (o, t) in enumerate(zip(ours_states,
                                                                                        theirs.hidden_states,
                                                                                        strict=True))}  # fmt: skip
    found |= {f"pattern {i}": largest_difference(cache[f"blocks.{i}.attn.hook_pattern"], t[0])
              for i, t in enumerate(theirs.attentions)}  # fmt: skip
    return found


def test_the_tokenizer_is_byte_level_bpe_read_from_tokenizer_json(tiny: tuple[LoadedGPT, GPT2LMHeadModel]) -> None:
    model, _ = tiny
    ids = model.tokenizer.encode(TEXT)
    pieces = model.tokenizer.decode(ids)
    assert pieces[:3] == ["the", "Ġdog", "Ġbites"]  # Ġ: the byte-level alphabet's space, kept with the word after
    assert model.tokenizer.text(ids) == TEXT
    assert model.tokenizer.encode("zebra") != []  # never unknown: any text is bytes
    assert len(model.tokenizer.vocab) == VOCAB_SIZE
    assert model.tokenizer.vocab[-1] == f"<unused {VOCAB_SIZE - 1}>"  # a padded row, named
    assert model.eos == EOT
    assert model.eos_id == 0


def test_the_config_is_gpt2s(tiny: tuple[LoadedGPT, GPT2LMHeadModel]) -> None:
    model, reference = tiny
    config = model.module.config
    assert (config.n_layers, config.n_heads, config.d_model, config.d_mlp, config.n_ctx) == (2, 2, 16, 64, 32)
    assert (config.positions, config.gelu, config.eps, config.tied) == ("learned", "tanh", 1e-3, True)
    assert model.module.unembed.weight is model.module.embed.weight  # tied: one table
    assert model.module.unembed.bias is None
    assert model.n_params == sum(p.numel() for p in reference.parameters())
    assert model.record["config"]["vocab_size"] == VOCAB_SIZE


def test_logits_hidden_states_and_patterns_match_transformers(tiny: tuple[LoadedGPT, GPT2LMHeadModel]) -> None:
    model, reference = tiny
    for text in (TEXT, "a man sat.", "the dog ran after the cat on the mat, and the man bites it."):
        found = differences(model, reference, text)
        assert max(found.values()) < TOL, found


def test_the_tied_unembedding_reads_the_embedding_table(tiny: tuple[LoadedGPT, GPT2LMHeadModel]) -> None:
    model, reference = tiny
    ids = model.tokenizer.encode(TEXT)
    logits, cache = model.run_with_cache(ids)
    wte = reference.transformer.wte.weight  # [vocab, d_model]
    assert largest_difference(logits, cache["ln_final.hook_normalized"] @ wte.T) < TOL
    wpe = reference.transformer.wpe.weight
    assert largest_difference(cache["hook_pos_embed"], wpe[: len(ids)]) == 0.0


def test_an_untied_head_and_exact_gelu_are_read_too(tmp_path: Path) -> None:
    reference = tiny_folder(tmp_path, seed=1, tie_word_embeddings=False, activation_function="gelu")
    model = LoadedGPT.load_folder("untied", {"title": "untied"}, tmp_path)
    assert (model.module.config.tied, model.module.config.gelu) == (False, "none")
    assert model.module.unembed.weight is not model.module.embed.weight
    found = differences(model, reference, TEXT)
    assert max(found.values()) < TOL, found


def test_generation_reads_the_end_of_text_token(tiny: tuple[LoadedGPT, GPT2LMHeadModel]) -> None:
    model, reference = tiny
    ids = model.tokenizer.encode(TEXT)
    assert largest_difference(model.next_logits(ids), reference(torch.tensor([ids])).logits[0, -1]) < TOL
    assert model.reads(list(range(40))) == tuple(range(8, 40))  # the last n_ctx = 32 tokens


def test_every_value_unfolds_to_itself(tiny: tuple[LoadedGPT, GPT2LMHeadModel]) -> None:
    model, _ = tiny
    ids = model.tokenizer.encode(TEXT)
    logits, cache = model.run_with_cache(ids)
    captured = model.captured(ids, cache, logits[-1])
    assert set(cache) == set(model.hook_names())
    for hook, value in cache.items():
        for index in (tuple(n - 1 for n in value.shape), tuple(n // 2 for n in value.shape)):
            found = model.unfoldings().explain(captured, hook, index, NextToken())
            assert math.fsum(t.value for t in found.terms) == pytest.approx(found.sum, abs=1e-9)
            assert found.total == pytest.approx(float(value[index]), abs=1e-5, rel=1e-6), (hook, index)


def test_gpt2s_own_parts_unfold_by_their_own_formulas(tiny: tuple[LoadedGPT, GPT2LMHeadModel]) -> None:
    model, reference = tiny
    ids = model.tokenizer.encode(TEXT)
    logits, cache = model.run_with_cache(ids)
    captured = model.captured(ids, cache, logits[-1])

    def explain(hook: str, *index: int) -> tuple[str, float, list[str], list[str]]:
        found = model.unfoldings().explain(captured, hook, list(index), NextToken())
        assert found.total is not None
        return found.formula, found.total, [t.label for t in found.terms], found.params

    formula, total, labels, params = explain("hook_pos_embed", 3, 5)
    assert total == float(reference.transformer.wpe.weight[3, 5])  # a row of the learned table, not a sinusoid
    assert (labels, params) == (["P[3, 5]"], ["pos_embed.weight"])
    pre = float(cache["blocks.1.mlp.hook_pre"][2, 7])
    formula, total, _, _ = explain("blocks.1.mlp.hook_post", 2, 7)
    assert "tanh" in formula
    tanh_gelu = 0.5 * pre * (1 + math.tanh(math.sqrt(2 / math.pi) * (pre + 0.044715 * pre**3)))
    assert total == pytest.approx(tanh_gelu, abs=1e-12)
    assert total == pytest.approx(float(torch.nn.functional.gelu(torch.tensor(pre), approximate="tanh")), abs=1e-6)
    formula, total, labels, params = explain("hook_logits", 4, 9)
    assert total == pytest.approx(float(logits[4, 9]), abs=1e-5)
    assert "b" not in formula.split(",")[0]  # no bias: x · W_U[:, 9] alone
    assert not any(label.startswith(("b", "unembed.bias")) for label in labels)
    assert params == ["embed.weight"]  # tied: W_U is the embedding table
    formula, _, _, _ = explain("blocks.0.hook_resid_pre", 2, 3)
    assert formula == "x = E[token] + P[pos]"


# --- folders that cannot be served ------------------------------------------------------------------------------


def test_weights_only_as_a_pickle_are_refused_without_unpickling(tmp_path: Path) -> None:
    tiny_folder(tmp_path)
    marker = pickled_weights(tmp_path)
    with pytest.raises(FolderError) as refused:
        read_gpt2(tmp_path)
    message = str(refused.value)
    assert message.startswith(f"{tmp_path}: the weights are only a pickle (pytorch_model.bin)")
    assert "never unpickles" in message
    assert "Fix: " in message
    assert not marker.exists()


def test_another_architecture_is_refused_by_its_model_type(tmp_path: Path) -> None:
    tiny_folder(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "model_type": "llama"}))
    with pytest.raises(FolderError, match=r"model_type is 'llama', not 'gpt2'\. Fix: point at a GPT-2"):
        read_gpt2(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({**config, "activation_function": "relu"}))
    with pytest.raises(FolderError, match=r"activation_function is 'relu'; only 'gelu_new'"):
        read_gpt2(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({**config, "scale_attn_by_inverse_layer_idx": True}))
    with pytest.raises(FolderError, match=r"scale_attn_by_inverse_layer_idx is True; only False"):
        read_gpt2(tmp_path)


def test_a_tensor_of_the_wrong_shape_is_named(tmp_path: Path) -> None:
    tiny_folder(tmp_path)
    path = tmp_path / "model.safetensors"
    weights = load_file(str(path))
    weights["transformer.h.1.attn.c_attn.weight"] = torch.zeros(16, 40)
    save_file(weights, str(path))
    shape = r"transformer\.h\.1\.attn\.c_attn\.weight has shape \[16, 40\], but config\.json makes it \[16, 48\]\. Fix"
    with pytest.raises(FolderError, match=shape):
        read_gpt2(tmp_path)


def test_a_missing_or_extra_tensor_is_named(tmp_path: Path) -> None:
    tiny_folder(tmp_path)
    path = tmp_path / "model.safetensors"
    weights = load_file(str(path))
    save_file({n: t for n, t in weights.items() if n != "transformer.h.1.ln_2.bias"}, str(path))
    with pytest.raises(FolderError, match=r"lacks h\.1\.ln_2\.bias\. Fix: "):
        read_gpt2(tmp_path)
    save_file({**weights, "transformer.h.2.ln_1.bias": torch.zeros(16)}, str(path))
    with pytest.raises(FolderError, match=r"holds transformer\.h\.2\.ln_1\.bias, which a GPT-2 of config\.json's 2"):
        read_gpt2(tmp_path)


def test_missing_files_are_named(tmp_path: Path) -> None:
    tiny_folder(tmp_path)
    (tmp_path / "tokenizer.json").unlink()
    with pytest.raises(FolderError, match=rf"^{tmp_path}: tokenizer\.json is missing\. Fix: save the tokenizer"):
        read_gpt2(tmp_path)
    (tmp_path / "config.json").unlink()
    with pytest.raises(FolderError, match=r"config\.json is missing\. Fix: "):
        read_gpt2(tmp_path)
    with pytest.raises(FolderError, match=r"there is no such folder"):
        read_gpt2(tmp_path / "nowhere")


def test_a_tokenizer_larger_than_the_table_is_refused(tmp_path: Path) -> None:
    tiny_folder(tmp_path, vocab_size=200)
    with pytest.raises(FolderError, match=r"tokenizer\.json has \d+ tokens, more than config\.json's vocab_size 200"):
        read_gpt2(tmp_path)
