"""The sqrt task: samples of y = sqrt(x) on [0, 10], and the net's exact worst error against sqrt."""

from __future__ import annotations

import math

import torch

from models.piecewise import Region, within

DOMAIN = (0.0, 10.0)


def samples(n: int, generator: torch.Generator) -> torch.Tensor:
    """n sample points in the domain, denser near 0 where sqrt bends most (x = 10·u², u uniform), sorted."""
    lo, hi = DOMAIN
    u = torch.rand(n, generator=generator)
    return torch.sort(lo + (hi - lo) * u**2).values  # [n]


def max_abs_error(regions: list[Region], lo: float, hi: float) -> float:
    """max |f(x) - sqrt(x)| over [lo, hi], exactly.

    On a region f is linear and sqrt concave, so f - sqrt is convex: its largest value is at an end, its smallest
    where f' = sqrt', i.e. x = 1 / (4·slope²). Those points are all the candidates.
    """
    worst = 0.0
    for r in within(regions, lo, hi):
        candidates = [r.left, r.right]
        if r.slope > 0:
            x_star = 1.0 / (4.0 * r.slope**2)
            if r.left < x_star < r.right:
                candidates.append(x_star)
        worst = max(worst, *(abs(r.slope * x + r.intercept - math.sqrt(x)) for x in candidates))
    return worst
