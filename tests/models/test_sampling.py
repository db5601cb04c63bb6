"""Temperature, top-k, top-p and the penalty do what their definitions say, recomputed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from models.sampling import (
    apply_repetition_penalty,
    entropy_bits,
    most_likely,
    next_token_distribution,
    sample,
    softmax_t,
    top_k_mask,
    top_p_mask,
    vocab_columns,
)

LOGITS = torch.tensor([2.0, -1.0, 0.5, 3.0, 0.0, -2.5, 1.0])


@pytest.mark.parametrize("t", [0.1, 0.5, 1.0, 2.0, 7.0])
def test_probs_are_the_softmax_of_logits_over_t_and_sum_to_1(t: float) -> None:
    dist = next_token_distribution(LOGITS, temperature=t)
    e = [math.exp(v / t) for v in LOGITS.tolist()]
    assert dist.probs.tolist() == pytest.approx([v / sum(e) for v in e], rel=1e-5)
    assert float(dist.probs.sum()) == pytest.approx(1.0)
    assert dist.scaled is not None
    assert dist.scaled.tolist() == pytest.approx([v / t for v in LOGITS.tolist()])


def test_temperature_0_is_the_one_hot_argmax_and_the_limit_of_small_t() -> None:
    zero = next_token_distribution(LOGITS, temperature=0.0)
    assert zero.probs.tolist() == [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    assert zero.scaled is None
    assert zero.entropy_bits == 0.0
    for t in (1e-3, 1e-6, 1e-40, 1e-300):
        tiny = next_token_distribution(LOGITS, temperature=t)
        assert tiny.probs.tolist() == pytest.approx(zero.probs.tolist(), abs=1e-9), t
        assert all(math.isfinite(v) for v in tiny.probs.tolist()), t


def test_huge_logits_and_a_tiny_temperature_give_probabilities_not_nan() -> None:
    dist = next_token_distribution(torch.tensor([300.0, -300.0, 299.0]), temperature=1e-30)
    assert dist.probs.tolist() == [1.0, 0.0, 0.0]
    assert dist.scaled is not None
    assert all(math.isfinite(v) for v in dist.scaled.tolist())


def test_higher_temperature_gives_higher_entropy() -> None:
    entropies = [next_token_distribution(LOGITS, temperature=t).entropy_bits for t in (0.25, 0.5, 1, 2, 4, 8)]
    assert entropies == sorted(entropies)
    assert len(set(entropies)) == len(entropies)
    assert entropies[-1] < math.log2(7)  # uniform is the limit T → ∞


def test_entropy_is_in_bits() -> None:
    assert entropy_bits(torch.full((8,), 1 / 8)) == pytest.approx(3.0)


@pytest.mark.parametrize("k", [1, 2, 3, 7])
def test_top_k_keeps_exactly_k_the_largest_logits(k: int) -> None:
    dist = next_token_distribution(LOGITS, top_k=k)
    largest = sorted(range(7), key=lambda i: -LOGITS[i].item())[:k]
    assert dist.kept == largest
    assert int((dist.probs > 0).sum()) == k
    kept_exp = [math.exp(LOGITS[i].item()) for i in largest]
    assert [dist.probs[i].item() for i in largest] == pytest.approx([v / sum(kept_exp) for v in kept_exp], rel=1e-5)


def test_top_k_breaks_ties_by_id_so_it_still_keeps_exactly_k() -> None:
    assert top_k_mask(torch.tensor([1.0, 1.0, 1.0, 0.0]), 2).tolist() == [True, True, False, False]


@pytest.mark.parametrize("p", [0.01, 0.3, 0.5, 0.8, 0.95, 0.999, 1.0])
def test_top_p_keeps_the_smallest_set_reaching_p(p: float) -> None:
    probs = softmax_t(LOGITS, 1.0)
    kept = next_token_distribution(LOGITS, top_p=p).kept
    ranked = sorted(range(7), key=lambda i: -probs[i].item())
    mass = [sum(probs[i].item() for i in ranked[: n + 1]) for n in range(7)]
    smallest = next(n + 1 for n in range(7) if mass[n] >= p - 1e-7)
    assert kept == ranked[:smallest]


def test_top_p_on_a_flat_distribution_keeps_a_fraction() -> None:
    assert top_p_mask(torch.full((4,), 0.25), 0.5).tolist() == [True, True, False, False]


def test_top_k_and_top_p_together_keep_what_both_allow() -> None:
    dist = next_token_distribution(LOGITS, top_k=3, top_p=0.5)
    by_k = top_k_mask(LOGITS, 3)
    probs_k = softmax_t(LOGITS.masked_fill(~by_k, -math.inf), 1.0)
    assert set(dist.kept) == {i for i in range(7) if by_k[i] and top_p_mask(probs_k, 0.5)[i]}


def test_the_repetition_penalty_divides_positive_and_multiplies_negative_logits() -> None:
    out = apply_repetition_penalty(LOGITS, [0, 1, 1], 2.0)
    assert out.tolist() == [1.0, -2.0, 0.5, 3.0, 0.0, -2.5, 1.0]
    assert LOGITS[0] == 2.0  # the input is not changed


def test_the_penalty_applies_before_the_filters() -> None:
    dist = next_token_distribution(LOGITS, top_k=1, repetition_penalty=10.0, previous=[3])
    assert dist.kept == [0]  # token 3 (logit 3 → 0.3) lost first place to token 0 (logit 2)


def test_the_same_seed_draws_the_same_tokens_and_draws_follow_the_probabilities() -> None:
    dist = next_token_distribution(LOGITS, temperature=1.0)
    draws = [sample(dist, torch.Generator().manual_seed(s)) for s in range(4000)]
    again = [sample(dist, torch.Generator().manual_seed(s)) for s in range(4000)]
    assert draws == again
    frequencies = [draws.count(i) / len(draws) for i in range(7)]
    assert frequencies == pytest.approx(dist.probs.tolist(), abs=0.03)


def test_a_draw_never_picks_a_token_the_filters_cut() -> None:
    dist = next_token_distribution(LOGITS, temperature=5.0, top_k=2)
    assert {sample(dist, torch.Generator().manual_seed(s)) for s in range(500)} == set(dist.kept)


@pytest.mark.parametrize("p", [1e-300, 1e-9])
def test_a_tiny_top_p_keeps_the_most_likely_token(p: float) -> None:
    dist = next_token_distribution(LOGITS, top_p=p)
    assert dist.kept == [3]
    assert dist.probs.tolist() == [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]


def test_top_p_of_1_keeps_every_token_with_any_probability() -> None:
    gen = torch.Generator().manual_seed(0)
    for _ in range(300):
        logits = torch.randn(50, generator=gen) * 5
        assert len(next_token_distribution(logits, top_p=1.0).kept) == 50


def test_ties_in_probability_rank_by_logit() -> None:
    # at T = 0 every token but the argmax has probability 0; they still rank by their logits
    assert next_token_distribution(LOGITS, temperature=0.0).kept == [3, 0, 6, 2, 4, 1, 5]


def test_a_draw_at_temperature_0_uses_no_randomness() -> None:
    gen = torch.Generator().manual_seed(0)
    state = gen.get_state()
    assert sample(next_token_distribution(LOGITS, temperature=0.0), gen) == 3
    assert torch.equal(gen.get_state(), state)


def test_the_most_likely_are_what_the_filters_kept_then_the_largest_logits_they_cut() -> None:
    logits = torch.tensor([0.5, 3.0, -1.0, 2.0, 1.0, 2.5])
    dist = next_token_distribution(logits, temperature=1.0, top_k=2)
    assert most_likely(dist, 4) == [1, 5, 3, 4]  # 3.0 and 2.5 kept (p > 0), then 2.0 and 1.0, cut
    assert most_likely(dist, 10) == [1, 5, 3, 4, 0, 2]  # never more than the vocabulary


def test_the_columns_of_a_wide_vocabulary_hold_every_positions_argmax_then_the_largest_logits() -> None:
    logits = torch.tensor(
        [
            [9.0, 8.0, 7.0, 0.0, 0.0, 0.0],  # argmax 0
            [0.0, 0.0, 0.0, 1.0, 0.0, 0.5],  # argmax 3, though 1.0 is small beside the first row's
        ]
    )
    assert vocab_columns(logits, 3) == [0, 1, 3]  # both argmaxes, then 8.0: by each column's largest logit
    assert vocab_columns(logits, 1) == [0, 3]  # more positions than columns: every argmax all the same
    assert vocab_columns(logits, 5) == [0, 1, 2, 3, 5]
