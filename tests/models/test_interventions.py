"""What-if changes made as edits on hook points (models/interventions.py), each checked by recomputing what it must
give from the values around it, never by comparing a changed value with itself: with no mask a pattern row is the
softmax over every key; with no √d the scores are q·kᵀ and each softmax row sharpens; with no positions a permuted
sentence predicts the same; a zeroed head's attention output is W_O of the heads with its z zeroed; a set weight
gives what a net with that weight gives. A change never reaches a pass it was not asked for, also when passes run
at once in threads."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from models.families.gpt import LoadedGPT
from models.families.mlp import LoadedMLP
from models.families.textnet import LoadedTextNet
from models.hooks import editing
from models.interventions import Change, ChangeError, plan
from models.mlp import ReLULayer
from models.registry import Registry

TOL = 1e-5
TEXT = "the dogs that chased the cat"


@pytest.fixture(autouse=True)
def no_grad() -> Iterator[None]:
    with torch.no_grad():
        yield


@pytest.fixture(scope="module")
def gpt() -> LoadedGPT:
    model = Registry().load("tiny-gpt")
    assert isinstance(model, LoadedGPT)
    return model


def changed(model: LoadedGPT, text: str, *changes: Change) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The unchanged and the changed pass over `text` (values without the batch axis)."""
    ids = model.tokenizer.encode(text)
    _, before = model.run_with_cache(ids)
    shapes = {name: list(value.shape) for name, value in before.items()}
    with editing(model.module, plan(model.module, changes, shapes)):
        _, after = model.run_with_cache(ids)
    return before, after


def softmax_rows(scores: torch.Tensor) -> torch.Tensor:
    """Our own softmax of each row, in float64: exp(s − max) / Σ exp(s − max)."""
    shifted = scores.double() - scores.double().max(dim=-1, keepdim=True).values
    e = torch.exp(shifted)
    return e / e.sum(dim=-1, keepdim=True)


def entropy_rows(p: torch.Tensor) -> torch.Tensor:
    return -(p * torch.log(p.clamp_min(1e-300))).sum(dim=-1)


def test_no_causal_mask_makes_each_pattern_row_the_softmax_over_every_key(gpt: LoadedGPT) -> None:
    before, after = changed(gpt, TEXT, Change("no_causal_mask", layer=0))
    q, k = after["blocks.0.attn.hook_q"], after["blocks.0.attn.hook_k"]  # [heads, pos, d_head]
    expected = softmax_rows(q.double() @ k.double().transpose(-1, -2) / math.sqrt(q.shape[-1]))
    assert torch.allclose(after["blocks.0.attn.hook_pattern"].double(), expected, atol=TOL)
    upper = torch.triu(torch.ones_like(expected, dtype=torch.bool), diagonal=1)
    assert float(before["blocks.0.attn.hook_pattern"][upper].abs().max()) == 0  # the mask held before
    assert float(after["blocks.0.attn.hook_pattern"][upper].min()) > 0  # every later word is seen now
    assert torch.equal(before["blocks.1.attn.hook_pattern"].isfinite(), after["blocks.1.attn.hook_pattern"].isfinite())


def test_without_the_mask_a_later_word_changes_an_earlier_position(gpt: LoadedGPT) -> None:
    """The reason for the mask: a position's values depend on the words after it only when it is removed."""
    a, b = "the dogs that chased the cat", "the dogs that chased the dog"
    hook = "blocks.0.hook_resid_post"
    masked = [changed(gpt, text)[1][hook][0] for text in (a, b)]
    open_ = [changed(gpt, text, Change("no_causal_mask", layer=0))[1][hook][0] for text in (a, b)]
    assert torch.equal(masked[0], masked[1])  # position 0 cannot see the last word
    assert float((open_[0] - open_[1]).abs().max()) > 1e-3  # now it does


def test_no_scaling_leaves_scores_as_q_dot_k_and_sharpens_every_softmax_row(gpt: LoadedGPT) -> None:
    before, after = changed(gpt, TEXT, Change("no_scaling", layer=0))
    q, k = after["blocks.0.attn.hook_q"], after["blocks.0.attn.hook_k"]
    raw = q.double() @ k.double().transpose(-1, -2)  # [heads, pos, pos]
    shown = after["blocks.0.attn.hook_scores"]
    lower = torch.tril(torch.ones_like(raw, dtype=torch.bool))
    assert torch.allclose(shown.double()[lower], raw[lower], atol=1e-4)
    assert bool(torch.isinf(shown[~lower]).all())  # the mask stays
    sharper = entropy_rows(after["blocks.0.attn.hook_pattern"].double())
    softer = entropy_rows(before["blocks.0.attn.hook_pattern"].double())
    assert bool((sharper <= softer + 1e-9).all())  # √d > 1: dividing by it can only flatten a row
    assert float((softer - sharper).max()) > 0.01


def test_with_no_positions_a_permuted_sentence_reads_the_same_where_no_mask_orders_it(gpt: LoadedGPT) -> None:
    """Attention reads its keys as a set. Without positions, block 0 at the last word sees "dog bites man ." as it
    sees "man bites dog ."; block 1 still reads the earlier words' block-0 values, and the mask made those from
    different prefixes ("dog" alone, or "man" alone), so the order still shows in the logits. Remove the mask in
    every block too and nothing tells the order: the last word predicts exactly the same."""
    changes = {
        "positions": [Change("no_positions")],
        "positions and masks": [Change("no_positions"), *(Change("no_causal_mask", layer=i) for i in range(2))],
    }
    last: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {name: [] for name in changes}
    plain = []
    for text in ("dog bites man .", "man bites dog ."):
        for name, made in changes.items():
            before, after = changed(gpt, text, *made)
            assert float(after["hook_pos_embed"].abs().max()) == 0
            last[name].append((after["blocks.0.hook_resid_post"][-1], after["hook_logits"][-1]))
        plain.append(before["hook_logits"][-1])
    (block0_a, logits_a), (block0_b, logits_b) = last["positions"]
    assert torch.allclose(block0_a, block0_b, atol=TOL)  # block 0's last word: the same set of keys
    assert float((logits_a - logits_b).abs().max()) > 1e-2  # the mask's prefixes still order block 1's keys
    (_, open_a), (_, open_b) = last["positions and masks"]
    assert torch.allclose(open_a, open_b, atol=TOL)
    assert float((plain[0] - plain[1]).abs().max()) > 1e-2  # with positions, the order shows


@pytest.mark.parametrize("mode", ["zero", "mean"])
def test_an_ablated_heads_output_is_w_o_of_the_heads_with_its_z_replaced(gpt: LoadedGPT, mode: str) -> None:
    head = 1
    before, after = changed(gpt, TEXT, Change("ablate_head", layer=0, head=head, mode=mode))  # type: ignore[arg-type]
    z = before["blocks.0.attn.hook_z"].clone()  # [heads, pos, d_head]: the unchanged heads' z
    z[head] = 0 if mode == "zero" else z[head].mean(dim=0, keepdim=True)
    attn = gpt.module.block(0).attn
    concat = z.transpose(0, 1).reshape(z.shape[1], -1)  # [pos, heads × d_head]
    expected = torch.nn.functional.linear(concat, attn.W_O.weight, attn.W_O.bias)
    assert torch.allclose(after["blocks.0.hook_attn_out"], expected, atol=TOL)
    assert not torch.allclose(before["blocks.0.hook_attn_out"], expected, atol=TOL)


def test_a_set_score_is_that_entry_before_softmax(gpt: LoadedGPT) -> None:
    before, after = changed(gpt, TEXT, Change("set_score", layer=1, head=2, query=4, key=1, value=6.0))
    row = before["blocks.1.attn.hook_scores"][2, 4].clone()  # the changed pass's inputs to layer 1 are the same
    row[1] = 6.0
    assert torch.allclose(after["blocks.1.attn.hook_pattern"][2, 4].double(), softmax_rows(row), atol=TOL)
    assert torch.equal(after["blocks.1.attn.hook_pattern"][2, 3], before["blocks.1.attn.hook_pattern"][2, 3])


def test_a_patch_takes_one_position_from_the_other_input(gpt: LoadedGPT) -> None:
    hook = "blocks.0.hook_resid_post"
    _, theirs = gpt.run_with_cache(gpt.tokenizer.encode("the cat that chased the dogs"))
    ids = gpt.tokenizer.encode(TEXT)
    _, before = gpt.run_with_cache(ids)
    shapes = {name: list(value.shape) for name, value in before.items()}
    with editing(gpt.module, plan(gpt.module, [Change("patch", hook=hook, position=1)], shapes, source=theirs)):
        _, after = gpt.run_with_cache(ids)
    assert torch.equal(after[hook][1], theirs[hook][1])
    assert torch.equal(after[hook][0], before[hook][0])
    assert torch.equal(after[hook][2:], before[hook][2:])  # this hook's other positions are this input's
    assert not torch.equal(after["blocks.1.hook_resid_post"][2:], before["blocks.1.hook_resid_post"][2:])


def test_a_set_weight_gives_what_a_net_with_that_weight_gives() -> None:
    model = Registry().load("sqrt-mlp-16x16")
    assert isinstance(model, LoadedMLP)
    changes = [Change("set_param", name="layers.1.W", index=(3, 5), value=0.7), Change("set_param", name="layers.0.b",
               index=(2,), value=-1.5)]  # fmt: skip
    other = copy.deepcopy(model.module)  # the reference: a net that has those weights (the model never does)
    layers = other.affine_layers()
    layers[1].linear.weight[3, 5] = 0.7
    layers[0].linear.bias[2] = -1.5
    xs = [0.0, 0.5, 2.0, 4.0, 7.5, 10.0]
    for x in xs:
        batch = torch.tensor([[x]])
        with editing(model.module, plan(model.module, changes, {}, params=model.params, model_input=batch)):
            y = float(model.module(batch)[0, 0])
        assert y == pytest.approx(float(other(batch)[0, 0]), abs=TOL)
    analysis, weights = model.edited(changes)
    assert weights[1][0][3, 5] == 0.7
    assert model.weights64[1][0][3, 5] != 0.7  # the model's own weights stay
    for x, y in analysis.curve:
        assert y == pytest.approx(float(other(torch.tensor([[x]]))[0, 0]), abs=1e-4)
    for kink in analysis.domain_breakpoints:  # a unit of the changed net crosses 0 at each kink
        layer, unit = kink.switched[0]
        z = torch.tensor([[kink.x]])
        for layer_module in layers[: layer + 1]:
            pre = layer_module.linear(z)
            z = torch.relu(pre)
        assert float(pre[0, unit]) == pytest.approx(0, abs=1e-4)


def test_a_words_point_set_in_the_embedding_plane_gives_its_logits_from_there() -> None:
    model = Registry().load("textnet-2d-sgd")
    assert isinstance(model, LoadedTextNet)
    word = model.tokenizer.encode("dog")[0]
    changes = [Change("set_param", name="E", index=(word, 0), value=2.0), Change("set_param", name="E",
               index=(word, 1), value=-1.0)]  # fmt: skip
    _, before = model.run_with_cache([word])
    shapes = {name: list(value.shape) for name, value in before.items()}
    with editing(model.module, plan(model.module, changes, shapes, params=model.params)):
        logits, _after = model.run_with_cache([word])
    a = torch.tensor([2.0, -1.0])
    for layer in [layer for layer in model.module.layers if isinstance(layer, ReLULayer)]:
        a = torch.relu(torch.nn.functional.linear(a, layer.linear.weight, layer.linear.bias))
    expected = torch.nn.functional.linear(a, model.module.unembed.weight, model.module.unembed.bias)
    assert torch.allclose(logits, expected, atol=TOL)
    _, other = model.run_with_cache(model.tokenizer.encode("cat"))
    with editing(model.module, plan(model.module, changes, shapes, params=model.params)):
        _, cat = model.run_with_cache(model.tokenizer.encode("cat"))
    assert torch.equal(cat["hook_logits"], other["hook_logits"])  # another word's point stays where it was


def test_a_change_never_reaches_a_pass_it_was_not_asked_for_even_in_threads(gpt: LoadedGPT) -> None:
    ids = gpt.tokenizer.encode(TEXT)
    plain = gpt.run_with_cache(ids)[0]
    shapes = {name: list(value.shape) for name, value in gpt.run_with_cache(ids)[1].items()}
    edits = plan(gpt.module, [Change("no_positions"), Change("ablate_head", layer=1, head=0)], shapes)
    with editing(gpt.module, edits):
        changed_logits = gpt.run_with_cache(ids)[0]

    def run(i: int) -> torch.Tensor:
        if i % 2:
            with editing(gpt.module, edits):
                return gpt.run_with_cache(ids)[0]
        return gpt.run_with_cache(ids)[0]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, range(40)))
    for i, logits in enumerate(results):
        assert torch.equal(logits, changed_logits if i % 2 else plain)
    assert torch.equal(gpt.run_with_cache(ids)[0], plain)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (Change("ablate_head", layer=2, head=0), "interventions.0.layer", "2 layers"),
        (Change("ablate_head", layer=0, head=4), "interventions.0.head", "4 heads"),
        (Change("set_score", layer=0, head=0, query=6, key=0, value=1.0), "interventions.0.query", "6 queries"),
        (Change("set_score", layer=0, head=0, query=0, key=0, value=math.inf), "interventions.0.value", "finite"),
        (Change("set_score", layer=0, head=0, query=0, key=0), "interventions.0.value", "missing"),
        (Change("set_param", name="embed.weight", index=(0, 0), value=1.0), "interventions.0.op", "MLP"),
        (Change("patch", hook="blocks.0.hook_resid_post", position=0), "interventions.0.source", "second input"),
        (Change("patch", hook="blocks.9.hook_z", position=0), "interventions.0.hook", "not a hook"),
        (Change("no_scaling", layer=0, stack="cross"), "interventions.0.stack", "only the translator"),
    ],
)
def test_a_change_that_does_not_fit_names_its_field(gpt: LoadedGPT, change: Change, field: str, words: str) -> None:
    with pytest.raises(ChangeError) as raised:
        changed(gpt, TEXT, change)
    assert raised.value.field == field
    assert words in str(raised.value)
