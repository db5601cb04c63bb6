"""From logits to the next token: repetition penalty, top-k, temperature, top-p, entropy, seeded sampling.

Pure functions on one position's logits ([vocab]). The order is the usual one:
penalty on the logits → top-k on the logits → softmax(logits / T) over what top-k kept → top-p on those
probabilities → renormalise. T = 0 is the limit T → 0: all mass on the argmax.

Probabilities are computed in float64 from logits shifted by their maximum, so a tiny T or a huge logit gives
0 and 1, never inf or NaN.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Distribution:
    """The next-token distribution and how it was made from the logits."""

    logits: torch.Tensor  # [vocab], after the repetition penalty
    scaled: torch.Tensor | None  # [vocab] float64, logits / T; None at T = 0
    probs: torch.Tensor  # [vocab] float64, zero outside `kept`, sums to 1
    kept: list[int]  # ids the filters let through, most probable first (ties: larger logit first)
    entropy_bits: float

    @property
    def argmax(self) -> int:
        return int(torch.argmax(self.logits))


def apply_repetition_penalty(logits: torch.Tensor, previous: Iterable[int], penalty: float) -> torch.Tensor:
    """Make tokens already seen less likely: a positive logit is divided by `penalty`, a negative one multiplied."""
    out = logits.clone()
    for i in set(previous):
        out[i] = out[i] / penalty if out[i] > 0 else out[i] * penalty
    return out


def _by_rank(values: torch.Tensor, then: torch.Tensor | None = None) -> torch.Tensor:
    """Ids sorted by value, largest first; ties go by `then` (largest first), then by id."""
    order = torch.arange(values.numel())
    if then is not None:
        order = torch.sort(then, descending=True, stable=True).indices
    return order[torch.sort(values[order], descending=True, stable=True).indices]


def top_k_mask(logits: torch.Tensor, k: int | None) -> torch.Tensor:
    """True for the k largest logits (exactly k, ties broken by id); all True when k is None."""
    if k is None:
        return torch.ones_like(logits, dtype=torch.bool)
    mask = torch.zeros_like(logits, dtype=torch.bool)
    mask[_by_rank(logits)[:k]] = True
    return mask


def top_p_mask(probs: torch.Tensor, p: float | None) -> torch.Tensor:
    """True for the smallest set of most probable tokens whose probabilities add up to at least p."""
    if p is None or p >= 1.0:  # p = 1 keeps everything, whatever the rounding of a running sum
        return torch.ones_like(probs, dtype=torch.bool)
    order = _by_rank(probs)
    ranked = probs.double()[order]
    before = torch.cumsum(ranked, 0) - ranked  # mass of the tokens ranked above each one
    mask = torch.zeros_like(probs, dtype=torch.bool)
    mask[order[before < p]] = True  # a token is needed while the mass above it is still short of p
    mask[order[0]] = True  # the most likely token is always kept, however small p is
    return mask


def softmax_t(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax(logits / T) in float64; at T = 0 the one-hot argmax, the limit T → 0. -inf logits get 0."""
    if temperature == 0:
        return torch.nn.functional.one_hot(torch.argmax(logits), logits.numel()).double()
    shifted = logits.double() - logits.max().double()  # ≤ 0, so exp never overflows
    return torch.softmax(shifted / temperature, dim=-1)


def entropy_bits(probs: torch.Tensor) -> float:
    nonzero = probs[probs > 0]
    return float(-(nonzero * torch.log2(nonzero)).sum()) + 0.0  # + 0.0 turns -0.0 into 0.0


def next_token_distribution(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    repetition_penalty: float | None = None,
    previous: Iterable[int] = (),
    exclude: Iterable[int] = (),
) -> Distribution:
    """`exclude` lists tokens that may never come next (a translator's start token); they are cut like top-k cuts."""
    if repetition_penalty is not None:
        logits = apply_repetition_penalty(logits, previous, repetition_penalty)
    excluded = list(exclude)
    allowed = logits  # the logits with excluded tokens at -inf
    if excluded:
        allowed = logits.clone()
        allowed[excluded] = -math.inf
    by_k = top_k_mask(allowed, top_k) & (allowed > -math.inf) if excluded or top_k is not None else None
    probs = softmax_t(allowed if by_k is None else logits.masked_fill(~by_k, -math.inf), temperature)
    keep = top_p_mask(probs, top_p) if by_k is None else by_k & top_p_mask(probs, top_p)
    probs = torch.where(keep, probs, 0.0)
    probs = probs / probs.sum()
    keep_list = keep.tolist()
    kept = [i for i in _by_rank(probs, logits).tolist() if keep_list[i]]
    scaled = None if temperature == 0 else logits.double() / temperature
    return Distribution(logits, scaled, probs, kept, entropy_bits(probs))


def most_likely(dist: Distribution, n: int) -> list[int]:
    """The ids of the n most probable tokens, most probable first: what the filters kept, then (when they kept fewer
    than n) the largest logits they cut. Ties go as in `kept`."""
    return _by_rank(dist.probs, dist.logits)[:n].tolist()


def vocab_columns(logits: torch.Tensor, n: int) -> list[int]:
    """The columns of a [pos, vocab] logits matrix to show when its vocabulary is too wide to send: every position's
    argmax, then the largest logits anywhere, up to n columns (more only when more than n positions each rank a
    different token first), in order of each column's largest logit."""
    best = logits.max(dim=0).values  # [vocab]: each token's largest logit at any position
    chosen = set(logits.argmax(dim=1).tolist())
    for i in _by_rank(best).tolist():
        if len(chosen) >= n:
            break
        chosen.add(i)
    value = best.tolist()
    return sorted(chosen, key=lambda i: (-value[i], i))


def sample(dist: Distribution, generator: torch.Generator) -> int:
    """One draw from the distribution; at T = 0 (or when one token is left) no randomness is used."""
    if dist.scaled is None or len(dist.kept) == 1:
        return dist.kept[0]
    return int(torch.multinomial(dist.probs, 1, generator=generator))
