"""Every number unfolds: each kind of unfolding is recomputed here on its own, from the model's parameters and the
captured values of the step before (torch's linear, layer norm, GELU; our own dot products and softmax), and its
terms sum to what it says and its total is the value the pass computed."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import torch
from torch.nn import functional

from models.explain import (
    NONE,
    TOP_TERMS,
    BadIndexError,
    Captured,
    NextToken,
    NoUnfoldingError,
    Unfolding,
    UnknownHookError,
)
from models.families.bert import LoadedBert
from models.families.gpt import LoadedGPT
from models.families.mlp import LoadedMLP
from models.families.seq2seq import LoadedSeq2Seq
from models.families.textnet import LoadedTextNet
from models.mlp import ReLULayer
from models.registry import Registry

TEXT = "the dogs that chased the cat are hungry ."
SOURCE, PREFIX = "the small black cat sees the white houses .", "le petit chat"


@pytest.fixture(autouse=True)
def no_grad() -> Iterator[None]:
    """Parameters read as plain numbers, without autograd's warning."""
    with torch.no_grad():
        yield


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry()


@pytest.fixture(scope="module")
def gpt(registry: Registry) -> tuple[LoadedGPT, Captured]:
    model = registry.load("tiny-gpt")
    assert isinstance(model, LoadedGPT)
    ids = model.tokenizer.encode(TEXT)
    logits, cache = model.run_with_cache(ids)
    return model, model.captured(ids, cache, logits[-1])


@pytest.fixture(scope="module")
def translator(registry: Registry) -> tuple[LoadedSeq2Seq, Captured]:
    model = registry.load("tiny-translator")
    assert isinstance(model, LoadedSeq2Seq)
    source, target = model.tokenizer.encode(SOURCE), [model.bos_id, *model.target_tokenizer.encode(PREFIX)]
    logits, cache = model.run_with_cache(source, target)
    return model, model.captured(source, target, cache, logits[-1])


def checked(found: Unfolding, expected: float) -> Unfolding:
    """The terms sum to `sum`, and the total is both the pass's value and the value recomputed here."""
    assert math.fsum(t.value for t in found.terms) == pytest.approx(found.sum, abs=1e-9)
    assert len(found.terms) <= found.n_terms
    assert found.value is not None
    assert found.total is not None
    assert found.total == pytest.approx(found.value, abs=1e-5, rel=1e-6)
    assert found.total == pytest.approx(expected, abs=1e-5, rel=1e-6)
    return found


def unfold(pair: tuple[LoadedGPT | LoadedSeq2Seq, Captured], hook: str, *index: int, **settings: object) -> Unfolding:
    model, captured = pair
    return model.unfoldings().explain(captured, hook, list(index), NextToken(**settings))  # type: ignore[arg-type]


def test_every_value_of_every_shipped_model_unfolds_to_itself(registry: Registry) -> None:
    for model in registry.load_all():
        if isinstance(model, LoadedMLP):
            _, cache = model.run_with_cache(4.0)
            captured = model.captured(4.0, cache)
        elif isinstance(model, LoadedTextNet):
            logits, cache = model.run_with_cache([2])
            captured = model.captured(2, cache, logits)
        elif isinstance(model, LoadedBert):
            ids = model.ids(TEXT)
            _, cache = model.run_with_cache(ids)
            captured = model.captured(ids, cache)
        elif isinstance(model, LoadedGPT):
            ids = model.tokenizer.encode(TEXT)
            logits, cache = model.run_with_cache(ids)
            captured = model.captured(ids, cache, logits[-1])
        else:
            assert isinstance(model, LoadedSeq2Seq)
            source, target = model.tokenizer.encode(SOURCE), [model.bos_id]
            logits, cache = model.run_with_cache(source, target)
            captured = model.captured(source, target, cache, logits[-1])
        assert set(cache) == set(model.hook_names())
        for hook, value in cache.items():
            last = tuple(n - 1 for n in value.shape)  # the last entry: the last position, head, unit
            found = model.unfoldings().explain(captured, hook, last, NextToken())
            assert math.fsum(t.value for t in found.terms) == pytest.approx(found.sum, abs=1e-9)
            assert found.total == pytest.approx(float(value[last]), abs=1e-5, rel=1e-6), hook


def test_embedding_and_positional_entries_are_a_row_of_the_table_and_the_sinusoid(
    gpt: tuple[LoadedGPT, Captured],
) -> None:
    model, _ = gpt
    ids = model.tokenizer.encode(TEXT)
    row = checked(unfold(gpt, "hook_embed", 3, 5), float(model.module.embed.weight[ids[3], 5]))
    assert row.inputs["token id"] == ids[3]
    assert row.params == ["embed.weight"]
    checked(unfold(gpt, "hook_pos_embed", 7, 6), math.sin(7 / 10000 ** (6 / 32)))
    cosine = checked(unfold(gpt, "hook_pos_embed", 7, 7), math.cos(7 / 10000 ** (6 / 32)))
    assert cosine.formula.startswith("PE[pos, 7] = cos")


def test_a_query_is_the_layer_norm_row_times_a_column_of_w_q_plus_its_bias(gpt: tuple[LoadedGPT, Captured]) -> None:
    model, captured = gpt
    attn, d_head = model.module.block(1).attn, model.module.config.d_head
    x = captured.cache["blocks.1.ln1.hook_normalized"][4]
    q = functional.linear(x, attn.W_Q.weight, attn.W_Q.bias)  # [d_model]: every head's query at position 4
    found = checked(unfold(gpt, "blocks.1.attn.hook_q", 2, 4, 5), float(q[2 * d_head + 5]))
    assert found.n_terms == model.module.config.d_model + 1
    assert len(found.terms) == TOP_TERMS + 2  # the largest, "… n more", the bias
    more, bias = found.terms[-2:]
    assert more.label == f"… {found.n_terms - 1 - TOP_TERMS} more"
    assert bias.value == pytest.approx(float(attn.W_Q.bias[2 * d_head + 5]))
    shown = [abs(t.value) for t in found.terms[:TOP_TERMS]]
    assert shown == sorted(shown, reverse=True)
    assert found.params == ["blocks.1.attn.W_Q.weight", "blocks.1.attn.W_Q.bias"]


def test_scores_are_dot_products_scaled_by_root_d_and_masked_ones_say_why(gpt: tuple[LoadedGPT, Captured]) -> None:
    model, captured = gpt
    q, k = captured.cache["blocks.0.attn.hook_q"], captured.cache["blocks.0.attn.hook_k"]
    dot = sum(float(a) * float(b) for a, b in zip(q[3, 5], k[3, 2], strict=True))
    raw = checked(unfold(gpt, "blocks.0.attn.hook_scores_raw", 3, 5, 2), dot)
    assert raw.n_terms == len(raw.terms) == model.module.config.d_head  # short: every term shown
    checked(unfold(gpt, "blocks.0.attn.hook_scores", 3, 5, 2), dot / math.sqrt(model.module.config.d_head))
    masked = unfold(gpt, "blocks.0.attn.hook_scores", 3, 2, 5)
    assert masked.value is None
    assert masked.total is None
    assert masked.note is not None
    assert "key 5 comes after query 2" in masked.note


def test_a_pattern_entry_is_its_exp_over_the_rows_sum(gpt: tuple[LoadedGPT, Captured]) -> None:
    _, captured = gpt
    row = captured.cache["blocks.1.attn.hook_scores"][0, 4, :5].double()  # keys 0..4: the ones query 4 sees
    weights = torch.exp(row - row.max()) / torch.exp(row - row.max()).sum()
    found = checked(unfold(gpt, "blocks.1.attn.hook_pattern", 0, 4, 1), float(weights[1]))
    assert found.n_terms == 5
    assert found.inputs["Σ exp"] == pytest.approx(float(torch.exp(row - row.max()).sum()))
    later = unfold(gpt, "blocks.1.attn.hook_pattern", 0, 4, 6)
    assert later.total == later.value == 0.0
    assert later.note is not None
    assert "masked" in later.note


def test_z_and_attention_out_sum_over_keys_and_over_every_head(gpt: tuple[LoadedGPT, Captured]) -> None:
    model, captured = gpt
    a = "blocks.0.attn."
    pattern, v, z = (captured.cache[a + h] for h in ("hook_pattern", "hook_v", "hook_z"))
    checked(unfold(gpt, a + "hook_z", 1, 6, 3), float(pattern[1, 6] @ v[1, :, 3]))
    W_O = model.module.block(0).attn.W_O
    heads = z.transpose(0, 1).reshape(z.shape[1], -1)  # [pos, n_heads · d_head]
    expected = functional.linear(heads, W_O.weight, W_O.bias)  # [pos, d_model]
    out = checked(unfold(gpt, "blocks.0.hook_attn_out", 6, 9), float(expected[6, 9]))
    assert out.n_terms == model.module.config.d_model + 1  # n_heads × d_head products and b_O


def test_layer_norm_mean_std_and_result_follow_from_the_row(gpt: tuple[LoadedGPT, Captured]) -> None:
    model, captured = gpt
    x = captured.cache["blocks.0.hook_resid_mid"][2]
    ln = model.module.block(0).ln2.ln
    checked(unfold(gpt, "blocks.0.ln2.hook_mean", 2, 0), float(x.double().mean()))
    std = float(torch.sqrt(x.double().var(unbiased=False) + ln.eps))
    found = checked(unfold(gpt, "blocks.0.ln2.hook_std", 2, 0), std)
    assert found.total == pytest.approx(math.sqrt(found.sum))
    normal = functional.layer_norm(x.double(), x.shape, ln.weight.double(), ln.bias.double(), ln.eps)
    found = checked(unfold(gpt, "blocks.0.ln2.hook_normalized", 2, 11), float(normal[11]))
    assert found.inputs["μ"] == pytest.approx(float(x.double().mean()))
    assert found.inputs["σ"] == pytest.approx(std)


def test_residuals_add_their_two_terms(gpt: tuple[LoadedGPT, Captured]) -> None:
    _, c = gpt
    b = "blocks.1."
    mid = checked(
        unfold(gpt, b + "hook_resid_mid", 3, 4),
        float(c.cache[b + "hook_resid_pre"][3, 4]) + float(c.cache[b + "hook_attn_out"][3, 4]),
    )
    assert [t.label for t in mid.terms] == [b + "hook_resid_pre", b + "hook_attn_out"]
    start = unfold(gpt, "blocks.0.hook_resid_pre", 3, 4)
    checked(start, float(c.cache["hook_embed"][3, 4]) + float(c.cache["hook_pos_embed"][3, 4]))
    passed_on = unfold(gpt, "blocks.1.hook_resid_pre", 3, 4)
    checked(passed_on, float(c.cache["blocks.0.hook_resid_post"][3, 4]))


def test_feed_forward_expands_applies_gelu_and_compresses(gpt: tuple[LoadedGPT, Captured]) -> None:
    model, c = gpt
    mlp = model.module.block(1).mlp
    pre = functional.linear(c.cache["blocks.1.ln2.hook_normalized"], mlp.W_in.weight, mlp.W_in.bias)  # [pos, d_mlp]
    checked(unfold(gpt, "blocks.1.mlp.hook_pre", 5, 100), float(pre[5, 100]))
    checked(unfold(gpt, "blocks.1.mlp.hook_post", 5, 100), float(functional.gelu(pre[5, 100].double())))
    out = functional.linear(c.cache["blocks.1.mlp.hook_post"], mlp.W_out.weight, mlp.W_out.bias)
    found = checked(unfold(gpt, "blocks.1.hook_mlp_out", 5, 3), float(out[5, 3]))
    assert found.n_terms == model.module.config.d_mlp + 1
    assert found.terms[TOP_TERMS].label == f"… {model.module.config.d_mlp - TOP_TERMS} more"


def test_a_logit_is_the_final_layer_norm_row_through_the_unembedding(gpt: tuple[LoadedGPT, Captured]) -> None:
    model, c = gpt
    unembed = model.module.unembed
    logits = functional.linear(c.cache["ln_final.hook_normalized"], unembed.weight, unembed.bias)
    found = checked(unfold(gpt, "hook_logits", 8, 12), float(logits[8, 12]))
    assert found.params == ["unembed.weight", "unembed.bias"]


def own_distribution(logits: torch.Tensor, t: float, top_k: int | None, top_p: float | None) -> torch.Tensor:
    """softmax(logits / T) over the top-k, then the smallest most-likely set reaching p, renormalised."""
    keep = torch.zeros_like(logits, dtype=torch.bool)
    keep[torch.argsort(logits, descending=True)[: top_k or len(logits)]] = True
    exp = torch.where(keep, torch.exp((logits.double() - logits[keep].max()) / t), 0.0)
    probs = exp / exp.sum()
    if top_p is not None:
        order = torch.argsort(probs, descending=True)
        before = torch.cumsum(probs[order], 0) - probs[order]
        keep = torch.zeros_like(keep)
        keep[order[before < top_p]] = True
        probs = torch.where(keep, probs, 0.0)
        probs = probs / probs.sum()
    return probs


def test_a_probability_honours_temperature_top_k_and_top_p(gpt: tuple[LoadedGPT, Captured]) -> None:
    _model, c = gpt
    assert c.logits is not None
    for top_k, top_p in [(None, None), (5, None), (None, 0.6), (4, 0.9)]:
        probs = own_distribution(c.logits, 1.7, top_k, top_p)
        kept = int((probs > 0).sum())
        for token in torch.argsort(probs, descending=True)[: kept + 2].tolist():  # the kept, and two cut
            found = unfold(gpt, "output.probs", token, temperature=1.7, top_k=top_k, top_p=top_p)
            checked(found, float(probs[token]))
            assert found.inputs["T"] == 1.7
            assert found.n_terms == kept  # the sum runs over the kept set only
            if probs[token] == 0:
                assert found.note is not None
                assert "is not kept" in found.note
    scaled = unfold(gpt, "output.scaled", 3, temperature=0.5)
    checked(scaled, float(c.logits[3]) / 0.5)
    argmax = int(c.logits.argmax())
    assert unfold(gpt, "output.probs", argmax, temperature=0.0).total == 1.0


def test_cross_attention_reads_its_keys_and_values_from_the_encoder_output(
    translator: tuple[LoadedSeq2Seq, Captured],
) -> None:
    model, c = translator
    cross, d_head = model.module.decoder.block(1).cross_attn, model.module.config.d_head
    memory = c.cache["encoder.ln_final.hook_normalized"]  # [source_pos, d_model]
    keys = functional.linear(memory, cross.W_K.weight, cross.W_K.bias)
    found = checked(unfold(translator, "decoder.blocks.1.cross_attn.hook_k", 3, 6, 2), float(keys[6, 3 * d_head + 2]))
    assert "encoder.ln_final.hook_normalized" in found.formula
    values = functional.linear(memory, cross.W_V.weight, cross.W_V.bias)
    checked(unfold(translator, "decoder.blocks.1.cross_attn.hook_v", 0, 8, 1), float(values[8, 1]))
    q, k = c.cache["decoder.blocks.1.cross_attn.hook_q"], c.cache["decoder.blocks.1.cross_attn.hook_k"]
    score = sum(float(a) * float(b) for a, b in zip(q[2, 3], k[2, 8], strict=True)) / math.sqrt(d_head)
    found = checked(unfold(translator, "decoder.blocks.1.cross_attn.hook_scores", 2, 3, 8), score)
    assert found.note is None  # a French word may read every English word: nothing is masked
    source_word = model.tokenizer.encode(SOURCE)[4]
    table = model.module.encoder.embed.weight
    row = checked(unfold(translator, "encoder.hook_embed", 4, 0), float(table[source_word, 0]))
    assert row.terms[0].label == f"E[{model.tokenizer.vocab[source_word]!r}, 0]"


def test_the_translators_next_word_never_starts_a_sentence(translator: tuple[LoadedSeq2Seq, Captured]) -> None:
    model, _ = translator
    found = unfold(translator, "output.probs", model.bos_id, exclude=(model.bos_id,))
    assert found.total == found.value == 0.0


def test_the_mlp_unfolds_z_and_relu_from_x(registry: Registry) -> None:
    model = registry.load("sqrt-mlp-2x2")
    assert isinstance(model, LoadedMLP)
    _, cache = model.run_with_cache(4.0)
    captured = model.captured(4.0, cache)
    (W1, b1), (W2, b2), _ = model.module.weights()
    z1 = W1 @ torch.tensor([4.0]) + b1
    a1 = torch.relu(z1)
    z2 = W2 @ a1 + b2
    unfoldings = model.unfoldings()
    for unit in range(2):
        checked(unfoldings.explain(captured, "layers.0.hook_z", [unit], NextToken()), float(z1[unit]))
        found = unfoldings.explain(captured, "layers.1.hook_a", [unit], NextToken())
        assert found.total == pytest.approx(max(0.0, float(z2[unit])), abs=1e-5)
        assert (found.note is None) == (float(z2[unit]) > 0)  # an off unit says so
    first = unfoldings.explain(captured, "layers.0.hook_z", [0], NextToken())
    assert [t.label for t in first.terms] == ["x[0] · W1[0, 0]", "b1[0]"]
    with pytest.raises(NoUnfoldingError, match="outputs a number"):
        unfoldings.explain(captured, "output.probs", [0], NextToken())


def test_the_text_net_unfolds_its_embedding_layers_and_logits(registry: Registry) -> None:
    model = registry.load("textnet-2d-sgd")
    assert isinstance(model, LoadedTextNet)
    dog = model.tokenizer.id_of("dog")
    logits, cache = model.run_with_cache([dog])
    captured = model.captured(dog, cache, logits)
    e = model.module.embed.weight[dog]
    first = model.module.layers[0]
    assert isinstance(first, ReLULayer)
    z1 = functional.linear(e, first.linear.weight, first.linear.bias)
    out = functional.linear(cache["layers.1.hook_a"], model.module.unembed.weight, model.module.unembed.bias)
    explain = model.unfoldings().explain
    checked(explain(captured, "hook_embed", [1], NextToken()), float(e[1]))
    checked(explain(captured, "layers.0.hook_z", [1], NextToken()), float(z1[1]))
    checked(explain(captured, "hook_logits", [4], NextToken()), float(out[4]))
    probs = own_distribution(logits, 1.0, 3, None)
    checked(explain(captured, "output.probs", [int(probs.argmax())], NextToken(top_k=3)), float(probs.max()))


def test_a_parameter_unfolds_to_its_own_entry_named_as_the_formulas_write_it(registry: Registry) -> None:
    model = registry.load("textnet-4d-adam")
    assert isinstance(model, LoadedTextNet)
    dog = model.tokenizer.id_of("dog")
    logits, cache = model.run_with_cache([dog])
    captured = model.captured(dog, cache, logits)
    explain = model.unfoldings().explain
    first = model.module.layers[0]
    assert isinstance(first, ReLULayer)
    # nn.Linear keeps weight[out, in]; the formulas (and the terms of z) read W1[in, out]
    weight = explain(captured, "layers.0.linear.weight", [3, 1], NextToken())
    assert weight.total == float(first.linear.weight[3, 1])
    assert [t.label for t in weight.terms] == ["W1[1, 3]"]
    z = explain(captured, "layers.0.hook_z", [3], NextToken())
    assert "e[1] · W1[1, 3]" in [t.label for t in z.terms]
    assert next(t for t in z.terms if t.label == "e[1] · W1[1, 3]").factors[1] == pytest.approx(weight.total)
    assert explain(captured, "layers.0.linear.bias", [3], NextToken()).terms[0].label == "b1[3]"
    table = explain(captured, "embed.weight", [dog, 2], NextToken())
    assert (table.terms[0].label, table.total) == ("E['dog', 2]", float(model.module.embed.weight[dog, 2]))
    assert table.note is not None
    assert "training" in table.note.lower()
    with pytest.raises(BadIndexError) as bad:
        explain(captured, "layers.0.linear.weight", [0, 4], NextToken())
    assert bad.value.shape == (4, 4)


def test_bad_requests_name_the_hooks_or_the_shape(gpt: tuple[LoadedGPT, Captured]) -> None:
    model, captured = gpt
    unfoldings = model.unfoldings()
    with pytest.raises(UnknownHookError) as unknown:
        unfoldings.explain(captured, "blocks.9.attn.hook_q", [0, 0, 0], NextToken())
    assert "blocks.0.attn.hook_q" in unknown.value.known
    assert "output.probs" in unknown.value.known
    for index in ([0, 0], [4, 0, 0], [0, -1, 0]):
        with pytest.raises(BadIndexError) as bad:
            unfoldings.explain(captured, "blocks.0.attn.hook_q", index, NextToken())
        assert bad.value.shape == (4, 9, 8)
    with pytest.raises(NoUnfoldingError, match="does not unfold"):
        NONE.explain(captured, "hook_embed", [0, 0], NextToken())
