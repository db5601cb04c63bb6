"""Exact piecewise-linear analysis of a ReLU MLP with one input and one output.

Layer by layer, every pre-activation is an affine function of x on each piece of the real line: z = m·x + c.
A unit switches where m·x + c = 0, so its root splits the piece; inside a piece every ReLU is either on (a = z)
or off (a = 0), and the next layer is affine again. No grid is sampled: the breakpoints are solved for, and the
result is exact up to float64 rounding of the float32 weights.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Vec = NDArray[np.float64]
Weights = list[tuple[NDArray[np.float64], NDArray[np.float64]]]  # (W [d_out, d_in], b [d_out]) per layer


@dataclass(frozen=True)
class Region:
    """On [left, right] the net is y = slope·x + intercept. Bounds may be ±inf (the net is defined for all x)."""

    left: float
    right: float
    slope: float
    intercept: float
    active: tuple[tuple[bool, ...], ...]  # [hidden layer][unit]: True where the ReLU passes z (z > 0)


@dataclass(frozen=True)
class Breakpoint:
    """A point where at least one ReLU switches; a kink when the slope changes there."""

    x: float
    switched: tuple[tuple[int, int], ...]  # (hidden layer, unit) pairs that change state at x
    slope_left: float
    slope_right: float

    @property
    def is_kink(self) -> bool:
        return self.slope_left != self.slope_right


def _on(m: float, c: float, left: float, right: float) -> bool:
    """Whether z = m·x + c is positive on (left, right), an interval its root does not cut.

    Decided from where the root lies, not by evaluating z at a probe point: a probe can land on a root one ulp
    away, where z = 0 would read as off.
    """
    if m > 0.0:
        return float(-c / m) <= left
    if m < 0.0:
        return float(-c / m) >= right
    return c > 0.0


def linear_regions(weights: Weights, lo: float = -math.inf, hi: float = math.inf) -> list[Region]:
    """Every linear region of the net on [lo, hi], left to right.

    `weights` holds every layer's (W, b), the last one being the linear output layer; d_in = d_out = 1.
    """
    if weights[0][0].shape[1] != 1 or weights[-1][0].shape[0] != 1:
        raise ValueError("linear_regions needs a net with one input and one output")
    # Each piece: (left, right, p, q, active) with the current activation a(x) = p·x + q on (left, right).
    pieces: list[tuple[float, float, Vec, Vec, tuple[tuple[bool, ...], ...]]] = [(lo, hi, np.ones(1), np.zeros(1), ())]
    for W, b in weights[:-1]:
        split = []
        for left, right, p, q, active in pieces:
            m, c = W @ p, W @ q + b  # z(x) = m·x + c, each [d_out]
            roots = {float(-cj / mj) for mj, cj in zip(m, c, strict=True) if mj != 0.0}
            edges = [left, *sorted(r for r in roots if left < r < right), right]
            for l_edge, r_edge in itertools.pairwise(edges):
                on = np.array([_on(mj, cj, l_edge, r_edge) for mj, cj in zip(m, c, strict=True)])
                split.append((l_edge, r_edge, np.where(on, m, 0.0), np.where(on, c, 0.0), (*active, tuple(on))))
        pieces = split
    W, b = weights[-1]
    return [
        Region(left, right, float((W @ p)[0]), float((W @ q + b)[0]), tuple(tuple(map(bool, s)) for s in active))
        for left, right, p, q, active in pieces
    ]


def breakpoints(regions: list[Region]) -> list[Breakpoint]:
    """The boundaries between consecutive regions, with the units that switch there."""
    found = []
    for before, after in itertools.pairwise(regions):
        switched = tuple(
            (layer, unit)
            for layer, (s0, s1) in enumerate(zip(before.active, after.active, strict=True))
            for unit, (u0, u1) in enumerate(zip(s0, s1, strict=True))
            if u0 != u1
        )
        found.append(Breakpoint(before.right, switched, before.slope, after.slope))
    return found


def _index_at(regions: list[Region], x: float) -> int:
    index = bisect.bisect_right(regions, x, key=lambda r: r.left) - 1
    if math.isnan(x) or index < 0 or x > regions[-1].right:
        raise ValueError(f"x={x} is outside the analysed interval [{regions[0].left}, {regions[-1].right}]")
    return index


def region_at(regions: list[Region], x: float) -> Region:
    """The region holding x; at a breakpoint, the region to its right (the last region keeps its right end)."""
    return regions[_index_at(regions, x)]


def affine_for(weights: Weights, active: tuple[tuple[bool, ...], ...]) -> tuple[float, float]:
    """(slope, intercept) of the net with its ReLUs fixed in the on/off pattern `active`."""
    p, q = np.ones(1), np.zeros(1)  # a(x) = p·x + q
    for (W, b), on in zip(weights[:-1], active, strict=True):
        mask = np.array(on)
        p, q = np.where(mask, W @ p, 0.0), np.where(mask, W @ q + b, 0.0)
    W, b = weights[-1]
    return float((W @ p)[0]), float((W @ q + b)[0])


def region_of_pass(regions: list[Region], weights: Weights, x: float, active: tuple[tuple[bool, ...], ...]) -> Region:
    """The region a forward pass at x was in, given the on/off pattern that pass saw.

    Within rounding of a breakpoint, a float32 pass can sit on either side of it; its own pattern decides, so the
    region shown never contradicts the ReLUs shown. Should rounding give a pattern that no neighbouring region
    has (two breakpoints closer than float32 resolves), the pass's own affine map is returned as [x, x].
    """
    index = _index_at(regions, x)
    for candidate in regions[max(0, index - 1) : index + 2]:
        if candidate.active == active:
            return candidate
    return Region(x, x, *affine_for(weights, active), active)


def within(regions: list[Region], lo: float, hi: float) -> list[Region]:
    """The regions that meet the open interval (lo, hi), clipped to [lo, hi]."""
    return [
        Region(max(r.left, lo), min(r.right, hi), r.slope, r.intercept, r.active)
        for r in regions
        if r.right > lo and r.left < hi
    ]
