"""From logits to the next token: repetition penalty, top-k, temperature, top-p, entropy, seeded sampling.

Pure functions on one position's logits ([vocab]). The order is the usual one:
penalty on the logits → top-k on the logits → softmax(logits / T) over what top-k kept → top-p on those
probabilities → renormalise. T = 0 is the limit T → 0: all mass on the argmax.
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
    scaled: torch.Tensor | None  # [vocab], logits / T; None at T = 0
    probs: torch.Tensor  # [vocab], zero outside `kept`, sums to 1
    kept: list[int]  # ids the filters let through, most probable first
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


def _by_rank(values: torch.Tensor) -> torch.Tensor:
    """Ids sorted by value, largest first; ties keep id order."""
    return torch.sort(values, descending=True, stable=True).indices


def top_k_mask(logits: torch.Tensor, k: int | None) -> torch.Tensor:
    """True for the k largest logits (exactly k, ties broken by id); all True when k is None."""
    if k is None:
        return torch.ones_like(logits, dtype=torch.bool)
    mask = torch.zeros_like(logits, dtype=torch.bool)
    mask[_by_rank(logits)[:k]] = True
    return mask


def top_p_mask(probs: torch.Tensor, p: float | None) -> torch.Tensor:
    """True for the smallest set of most probable tokens whose probabilities add up to at least p."""
    if p is None:
        return torch.ones_like(probs, dtype=torch.bool)
    order = _by_rank(probs)
    before = torch.cumsum(probs[order], 0) - probs[order]  # mass of the tokens ranked above each one
    mask = torch.zeros_like(probs, dtype=torch.bool)
    mask[order[before < p]] = True  # a token is needed while the mass above it is still short of p
    return mask


def softmax_t(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax(logits / T); at T = 0 the one-hot argmax, the limit T → 0. -inf logits get probability 0."""
    if temperature == 0:
        return torch.nn.functional.one_hot(torch.argmax(logits), logits.numel()).to(logits.dtype)
    return torch.softmax(logits / temperature, dim=-1)


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
) -> Distribution:
    if repetition_penalty is not None:
        logits = apply_repetition_penalty(logits, previous, repetition_penalty)
    by_k = top_k_mask(logits, top_k)
    probs = softmax_t(logits.masked_fill(~by_k, -math.inf), temperature)
    keep = by_k & top_p_mask(probs, top_p)
    probs = torch.where(keep, probs, 0.0)
    probs = probs / probs.sum()
    kept = [int(i) for i in _by_rank(probs) if keep[i]]
    scaled = None if temperature == 0 else logits / temperature
    return Distribution(logits, scaled, probs, kept, entropy_bits(probs))


def sample(dist: Distribution, generator: torch.Generator) -> int:
    """One draw from the distribution; with a one-hot (T = 0) that is the argmax, and no randomness is used."""
    if len(dist.kept) == 1:
        return dist.kept[0]
    return int(torch.multinomial(dist.probs, 1, generator=generator))
