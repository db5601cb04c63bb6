"""The tiny GPT: each stage recomputes from the one before, attention is causal, and the record holds."""

from __future__ import annotations

import json
import math

import pytest
import torch

from models.data import grammar
from models.families.gpt import LoadedGPT
from models.gpt import GPT, GPTConfig
from models.hooks import hook_names, run_with_cache
from models.parts import Block, sinusoidal_positions
from models.registry import WEIGHTS_DIR, Registry
from models.tokenizers import WordTokenizer
from models.training.gpt import evaluate


@pytest.fixture(scope="module")
def gpt() -> LoadedGPT:
    model = Registry().load("tiny-gpt")
    assert isinstance(model, LoadedGPT)
    return model


def _run(model: LoadedGPT, text: str) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    return run_with_cache(model.module, torch.tensor([model.tokenizer.encode(text)]))


def ln(name: str) -> list[str]:
    """A layer norm's hooks: its mean and standard deviation, then the normalized values."""
    return [f"{name}.hook_{x}" for x in ("mean", "std", "normalized")]


def test_gpt_hook_names_are_pinned_because_they_are_json_keys() -> None:
    per_block = ["hook_resid_pre", *ln("ln1"), "attn.hook_q", "attn.hook_k", "attn.hook_v",
                 "attn.hook_scores_raw", "attn.hook_scores", "attn.hook_pattern", "attn.hook_z", "hook_attn_out",
                 "hook_resid_mid", *ln("ln2"), "mlp.hook_pre", "mlp.hook_post", "hook_mlp_out",
                 "hook_resid_post"]  # fmt: skip
    expected = ["hook_embed", "hook_pos_embed"]
    expected += [f"blocks.{i}.{name}" for i in range(2) for name in per_block]
    expected += [*ln("ln_final"), "hook_logits"]
    assert hook_names(GPT(GPTConfig(vocab=("a", "b"), n_layers=2))) == expected


def test_the_positional_encoding_is_the_papers_sinusoid() -> None:
    pe = sinusoidal_positions(24, 32)
    for pos in (0, 1, 7, 23):
        for i in (0, 3, 15):
            assert pe[pos, 2 * i].item() == pytest.approx(math.sin(pos / 10000 ** (2 * i / 32)), abs=1e-6)
            assert pe[pos, 2 * i + 1].item() == pytest.approx(math.cos(pos / 10000 ** (2 * i / 32)), abs=1e-6)


def test_attention_recomputes_from_q_and_k_and_is_causal(gpt: LoadedGPT) -> None:
    _, cache = _run(gpt, "the dogs that chased the cat are hungry .")
    d_head = gpt.module.config.d_head
    for layer in range(2):
        a = f"blocks.{layer}.attn."
        q, k, v = cache[a + "hook_q"], cache[a + "hook_k"], cache[a + "hook_v"]  # [1, heads, pos, d_head]
        torch.testing.assert_close(cache[a + "hook_scores_raw"], q @ k.transpose(-1, -2))
        scores, pattern = cache[a + "hook_scores"], cache[a + "hook_pattern"]
        n = scores.shape[-1]
        above = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
        torch.testing.assert_close(scores[..., ~above], (q @ k.transpose(-1, -2) / math.sqrt(d_head))[..., ~above])
        assert torch.isneginf(scores[..., above]).all()
        assert (pattern[..., above] == 0).all()
        torch.testing.assert_close(pattern.sum(-1), torch.ones_like(pattern.sum(-1)))
        torch.testing.assert_close(pattern[..., ~above], torch.softmax(scores, -1)[..., ~above])
        torch.testing.assert_close(cache[a + "hook_z"], pattern @ v)


def test_each_layer_norm_is_its_mean_and_deviation_applied(gpt: LoadedGPT) -> None:
    _, cache = _run(gpt, "the queen met the king and she")
    module = gpt.module
    norms = {f"blocks.{i}.{n}": getattr(blk, n) for i, blk in enumerate(module.blocks) for n in ("ln1", "ln2")}
    inputs = {f"blocks.{i}.{n}": f"blocks.{i}.{h}" for i in range(2) for n, h in (("ln1", "hook_resid_pre"),
              ("ln2", "hook_resid_mid"))}  # fmt: skip
    for name, ln in norms.items():
        x = cache[inputs[name]]  # [1, pos, d_model]
        mu, sigma = cache[name + ".hook_mean"], cache[name + ".hook_std"]  # [1, pos, 1] each
        torch.testing.assert_close(mu, x.sum(-1, keepdim=True) / x.shape[-1])
        torch.testing.assert_close(sigma, (((x - mu) ** 2).mean(-1, keepdim=True) + ln.ln.eps).sqrt())
        torch.testing.assert_close(cache[name + ".hook_normalized"], (x - mu) / sigma * ln.ln.weight + ln.ln.bias)


def test_each_residual_step_adds_what_the_sublayer_wrote(gpt: LoadedGPT) -> None:
    logits, cache = _run(gpt, "the queen met the king and she")
    module = gpt.module
    torch.testing.assert_close(cache["blocks.0.hook_resid_pre"], cache["hook_embed"] + cache["hook_pos_embed"])
    for i, blk in enumerate(module.blocks):
        assert isinstance(blk, Block)
        b = f"blocks.{i}."
        x = cache[b + "hook_resid_pre"]
        torch.testing.assert_close(cache[b + "ln1.hook_normalized"], torch.nn.functional.layer_norm(
            x, (32,), blk.ln1.ln.weight, blk.ln1.ln.bias))  # fmt: skip
        z = cache[b + "attn.hook_z"]  # [1, heads, pos, d_head]
        concat = z.transpose(1, 2).reshape(1, z.shape[2], -1)
        torch.testing.assert_close(cache[b + "hook_attn_out"], concat @ blk.attn.W_O.weight.T + blk.attn.W_O.bias)
        torch.testing.assert_close(cache[b + "hook_resid_mid"], x + cache[b + "hook_attn_out"])
        pre = cache[b + "mlp.hook_pre"]
        torch.testing.assert_close(cache[b + "mlp.hook_post"], torch.nn.functional.gelu(pre))
        torch.testing.assert_close(
            cache[b + "hook_mlp_out"], cache[b + "mlp.hook_post"] @ blk.mlp.W_out.weight.T + blk.mlp.W_out.bias
        )
        torch.testing.assert_close(
            cache[b + "hook_resid_post"], cache[b + "hook_resid_mid"] + cache[b + "hook_mlp_out"]
        )
    final = cache["ln_final.hook_normalized"]
    torch.testing.assert_close(logits, final @ module.unembed.weight.T + module.unembed.bias)


def test_activations_at_a_position_do_not_change_when_later_words_change(gpt: LoadedGPT) -> None:
    _, a = _run(gpt, "the dog chased the cat . who chased ? the dog")
    _, b = _run(gpt, "the dog chased the fox . who was chased ? the fox")
    same = 4  # "the dog chased the" is shared
    for name, value in a.items():
        if name in ("hook_embed", "hook_pos_embed", *ln("ln_final"), "hook_logits") or ".attn." not in name:
            torch.testing.assert_close(value[:, :same], b[name][:, :same], msg=name)
        else:  # [1, heads, query_pos, …]: the first queries, and for scores and patterns their first keys
            keys = slice(None) if name.endswith(("hook_q", "hook_k", "hook_v", "hook_z")) else slice(0, same)
            torch.testing.assert_close(value[:, :, :same, keys], b[name][:, :, :same, keys], msg=name)


def test_held_out_accuracy_reproduces_the_record(gpt: LoadedGPT) -> None:
    record = json.loads((WEIGHTS_DIR / "tiny-gpt.json").read_text())
    _, test = grammar.corpus(record["seed"])
    metrics = evaluate(gpt.module, test, WordTokenizer(list(gpt.module.config.vocab)))
    for name, value in metrics.items():
        assert value == pytest.approx(record["metrics"][name], abs=1e-6), name
    for kind in ("pronoun", "agreement", "order", "sense"):
        assert metrics[f"{kind}_accuracy"] >= 0.9, kind


def test_the_grammar_marks_the_positions_that_are_determined() -> None:
    train, test = grammar.corpus(0)
    assert grammar.corpus(0) == (train, test)  # the same seed splits the same way...
    assert grammar.corpus(1)[1] != test  # ...and another seed another way
    kinds = {
        kind: [s for s in train + test if s.scored and s.scored[0][1] == kind] for kind in ("agreement", "pronoun")
    }
    for s in kinds["agreement"]:
        head = s.tokens[1]
        assert s.tokens[6] == ("are" if head in grammar.ANIMALS.values() else "is")
    for s in kinds["pronoun"]:
        assert s.tokens[6] == grammar.PEOPLE[s.tokens[1]]
    assert not {s.text for s in train} & {s.text for s in test}


def test_generation_slides_a_window_over_a_long_context(gpt: LoadedGPT) -> None:
    words = ("the dog chased the cat . who was chased ? the cat . " * 3).split()
    ids = gpt.tokenizer.encode(" ".join(words))
    assert len(ids) > 24
    with torch.no_grad():
        window = gpt.module(torch.tensor([ids[-24:]]))[0, -1]
    assert torch.equal(gpt.next_logits(ids), window)


def test_a_sentence_deep_in_the_context_is_still_predicted(gpt: LoadedGPT) -> None:
    # the agreement case after 13 words of other sentences
    ids = gpt.tokenizer.encode("the dog chased the cat . who was chased ? the cat . the dogs that saw the fox")
    assert len(ids) == 19
    with torch.no_grad():
        assert gpt.tokenizer.vocab[int(gpt.module(torch.tensor([ids]))[0, -1].argmax())] == "are"


def test_the_residual_stream_is_read_before_block_0_and_after_every_block(gpt: LoadedGPT) -> None:
    n_layers = gpt.module.config.n_layers
    expected = [("embeddings", "blocks.0.hook_resid_pre")]
    expected += [(f"block {i}", f"blocks.{i}.hook_resid_post") for i in range(n_layers)]
    assert gpt.residual_stream() == expected
    assert {hook for _, hook in expected} <= set(gpt.hook_names())


def test_the_logit_lens_is_each_residual_stream_through_ln_final_and_the_unembedding(gpt: LoadedGPT) -> None:
    _, cache = gpt.run_with_cache(gpt.tokenizer.encode("the dogs that chased the cat"))
    ln, unembed = gpt.module.ln_final.ln, gpt.module.unembed
    lens = gpt.logit_lens(cache, top=3)
    assert [(layer.layer, layer.hook) for layer in lens] == gpt.residual_stream()
    for layer in lens:
        normed = torch.nn.functional.layer_norm(cache[layer.hook], ln.normalized_shape, ln.weight, ln.bias, ln.eps)
        with torch.no_grad():
            probs = torch.softmax(normed @ unembed.weight.T + unembed.bias, dim=-1)  # [pos, vocab]
        assert len(layer.top) == 6
        for pos, top in enumerate(layer.top):
            best = torch.topk(probs[pos], 3)
            assert [i for i, _ in top] == best.indices.tolist(), (layer.layer, pos)
            assert [p for _, p in top] == pytest.approx(best.values.tolist(), abs=1e-6)


def _ids(model: LoadedGPT, text: str) -> list[int]:
    return model.tokenizer.encode(text)


def test_comparing_two_texts_gives_the_distance_of_their_residual_streams_at_each_shared_position(
    gpt: LoadedGPT,
) -> None:
    a, b = _ids(gpt, "the dog chased the cat"), _ids(gpt, "the dog chased the fox .")
    found = gpt.compare(a, b)
    assert found.layers == gpt.residual_stream()
    _, cache_a = gpt.run_with_cache(a)  # each text run alone, with every hook
    _, cache_b = gpt.run_with_cache(b)
    assert len(found.distance) == len(found.layers)
    for (_, hook), row in zip(found.layers, found.distance, strict=True):
        assert len(row) == 5  # the shorter text's length
        for pos, d in enumerate(row):
            assert d == pytest.approx(float((cache_a[hook][pos] - cache_b[hook][pos]).square().sum().sqrt()), abs=1e-5)
    assert found.first_difference == 4  # "the dog chased the" is shared
    # Zero up to float noise: passes over 5 and 6 positions sum in different orders (about 1e-6 here).
    assert all(d == pytest.approx(0, abs=1e-4) for row in found.distance for d in row[:4])
    assert all(row[4] > 1 for row in found.distance)  # "cat" and "fox" part from their embeddings on


def test_the_predictions_compared_are_each_texts_own_next_word(gpt: LoadedGPT) -> None:
    a, b = _ids(gpt, "the king met the girl and"), _ids(gpt, "the dogs that saw the fox")
    found = gpt.compare(a, b)
    assert found.predictions == (int(gpt.next_logits(a).argmax()), int(gpt.next_logits(b).argmax()))
    assert [gpt.tokenizer.vocab[i] for i in found.predictions] == ["he", "are"]


def test_when_one_text_begins_the_other_there_is_no_first_difference(gpt: LoadedGPT) -> None:
    found = gpt.compare(_ids(gpt, "the dog chased"), _ids(gpt, "the dog chased the cat"))
    assert found.first_difference is None
    assert all(len(row) == 3 for row in found.distance)
    assert all(d == pytest.approx(0, abs=1e-4) for row in found.distance for d in row)
