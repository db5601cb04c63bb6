"""Generation, one token at a time, until the end token, the length bound, or a loop.

A loop is the same transition happening a second time: the same input, as the model reads it, followed by the
same token. For the text nets, which read only the last token, that is "previous token → next token" (the
article's dog → dog trap); for a transformer, which reads its whole context, the input repeats only when the
window does. Under greedy decoding such a cycle can never be left; when sampling, the rule stops a chain that
repeated itself, which may be chance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

from models.sampling import Distribution, next_token_distribution, sample

StopReason = Literal["eos", "max_new_tokens", "loop"]
TOP_CANDIDATES = 5


@dataclass(frozen=True)
class Step:
    id: int
    prob: float  # the probability it was drawn with
    top: list[tuple[int, float]]  # the most probable candidates of the distribution it was drawn from
    distribution: Distribution


@dataclass(frozen=True)
class Generation:
    ids: list[int]  # the new tokens only
    steps: list[Step]
    stop_reason: StopReason
    loop: tuple[int, int] | None  # the transition that repeated, when stop_reason is "loop"


def generate(
    next_logits: Callable[[list[int]], torch.Tensor],
    prompt: list[int],
    *,
    eos_id: int | None,
    max_new_tokens: int,
    seed: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    repetition_penalty: float | None = None,
    reads: Callable[[list[int]], tuple[int, ...]] = tuple,
    exclude: tuple[int, ...] = (),
) -> Generation:
    """Extend `prompt` with tokens drawn from `next_logits(context)` ([vocab]); the same seed gives the same tokens.

    `reads(context)` is the part of the context the model sees (all of it by default), for loop detection.
    """
    generator = torch.Generator().manual_seed(seed)
    context = list(prompt)
    steps: list[Step] = []
    seen: set[tuple[tuple[int, ...], int]] = set()
    while len(steps) < max_new_tokens:
        dist = next_token_distribution(
            next_logits(context), temperature, top_k, top_p, repetition_penalty, previous=context, exclude=exclude
        )
        token = sample(dist, generator)
        top = [(i, float(dist.probs[i])) for i in dist.kept[:TOP_CANDIDATES] if dist.probs[i] > 0]
        steps.append(Step(token, float(dist.probs[token]), top, dist))
        transition = (reads(context), token)  # what the model read, and what it chose
        context.append(token)
        if token == eos_id:
            return Generation(context[len(prompt) :], steps, "eos", None)
        if transition in seen:
            return Generation(context[len(prompt) :], steps, "loop", (context[-2], token))
        seen.add(transition)
    return Generation(context[len(prompt) :], steps, "max_new_tokens", None)
