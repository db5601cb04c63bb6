"""The sqrt(x) MLP family: a ReLU net of one input, with its exact piecewise-linear form.

The analyses the page shows are computed here: every linear region and breakpoint (models/piecewise.py), the curve of
the model's own outputs at the domain ends and every kink, each hidden unit's z(x) and a(x) at the same points with
the x's where it switches, and the region a captured pass was in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Self

import numpy as np
import torch
from numpy.typing import NDArray

from models.explain import Captured, Unfoldings, Wiring
from models.families.base import LoadedModel, Weights, ready
from models.hooks import editing, run_with_cache
from models.interventions import Change, Feeds, linear_feeds, plan
from models.mlp import MLP, MLPConfig, ReLULayer
from models.piecewise import (
    Breakpoint,
    Region,
    breakpoints,
    linear_regions,
    region_at,
    region_of_pass,
    within,
)
from models.piecewise import Weights as Weights64


@dataclass(frozen=True)
class Switch:
    """Where one hidden unit's z crosses 0 inside the domain: the domain breakpoint it makes (or shares)."""

    x: float
    breakpoint: int  # index into LoadedMLP.domain_breakpoints
    turns_on: bool  # going right, z rises through 0 and the ReLU turns on; False: it turns off


@dataclass(frozen=True)
class UnitCurve:
    """One hidden unit over the domain: z(x) and a(x) = ReLU(z(x)) at the x's of `LoadedMLP.curve`.

    Between two of those x's every ReLU of the net keeps its state, so z and a are linear there: a line through
    these points is the unit exactly.
    """

    layer: int  # 0-based hidden layer, as in the hook name layers.{layer}
    unit: int
    z: tuple[float, ...]  # [points]
    a: tuple[float, ...]  # [points]
    switches: tuple[Switch, ...]


@dataclass(frozen=True)
class Analysis:
    """A net's exact piecewise-linear form over its domain: the regions, the kinks, the curve the model computes
    through them, and each hidden unit along it. Made from the weights (the trained ones, or ones a what-if set)."""

    regions: list[Region]  # on the whole real line (the outer two are unbounded)
    domain_regions: list[Region]
    domain_breakpoints: list[Breakpoint]
    curve: list[tuple[float, float]]  # (x, f(x)) at the domain ends and every breakpoint: f is linear between them
    units: list[UnitCurve]

    @classmethod
    def of(cls, weights: Weights64, domain: tuple[float, float], outputs: Callable[[list[float]], list[float]]) -> Self:
        """The analysis of `weights` (float64) over `domain`; `outputs` computes f at a list of x's (the model's own
        pass, so the curve's y's are what the page's passes show)."""
        lo, hi = domain
        regions = linear_regions(weights, -math.inf, math.inf)
        domain_regions = within(regions, lo, hi)
        kinks = [p for p in breakpoints(regions) if lo < p.x < hi]
        xs = [lo, *(p.x for p in kinks), hi]
        curve = list(zip(xs, outputs(xs), strict=True))
        return cls(regions, domain_regions, kinks, curve, _units(weights, xs, kinks, domain_regions))


def _units(
    weights: Weights64, xs: list[float], kinks: list[Breakpoint], domain_regions: list[Region]
) -> list[UnitCurve]:
    """Every hidden unit's z and a at the curve's x's, in float64 from the weights, and its switch points.

    A unit switches at a domain breakpoint whose `switched` names it; which way is read from the regions on either
    side (breakpoint i lies between domain regions i and i + 1).
    """
    a = np.array(xs)[:, None]  # [points, 1]
    layers: list[tuple[NDArray[np.float64], NDArray[np.float64]]] = []  # per hidden layer (z, a): [points, width]
    for W, b in weights[:-1]:
        z = a @ W.T + b  # [points, width]
        a = np.maximum(z, 0.0)
        layers.append((z, a))
    switches: dict[tuple[int, int], list[Switch]] = {}
    for i, p in enumerate(kinks):
        after = domain_regions[i + 1]
        for layer, unit in p.switched:
            switches.setdefault((layer, unit), []).append(Switch(p.x, i, after.active[layer][unit]))
    return [
        UnitCurve(
            layer,
            unit,
            z=tuple(z[:, unit].tolist()),
            a=tuple(a_out[:, unit].tolist()),
            switches=tuple(switches.get((layer, unit), [])),
        )
        for layer, (z, a_out) in enumerate(layers)
        for unit in range(z.shape[1])
    ]


@dataclass(frozen=True, eq=False)
class LoadedMLP(LoadedModel[MLP]):
    """A trained sqrt MLP with its exact piecewise-linear form, computed once on first use."""

    family = "mlp"

    @classmethod
    def load(cls, model_id: str, record: dict[str, Any], weights: Weights) -> Self:
        return cls(model_id, record, ready(MLP(MLPConfig(**record["config"])), weights))

    @property
    def domain(self) -> tuple[float, float]:
        lo, hi = self.record["data"]["domain"]
        return float(lo), float(hi)

    @cached_property
    def weights64(self) -> Weights64:
        """Every layer's (W, b) in float64, for the exact analysis."""
        return [(w.double().numpy(), b.double().numpy()) for w, b in self.module.weights()]

    @cached_property
    def analysis(self) -> Analysis:
        return Analysis.of(self.weights64, self.domain, self.outputs)

    def outputs(self, xs: list[float]) -> list[float]:
        """f(x) computed by the model at each x (one batch)."""
        with torch.no_grad():
            return self.module(torch.tensor(xs, dtype=torch.float32).unsqueeze(1)).squeeze(1).tolist()  # type: ignore[no-any-return]

    @property
    def regions(self) -> list[Region]:
        """Every linear region on the whole real line (the outer two are unbounded)."""
        return self.analysis.regions

    @property
    def domain_regions(self) -> list[Region]:
        return self.analysis.domain_regions

    @property
    def domain_breakpoints(self) -> list[Breakpoint]:
        return self.analysis.domain_breakpoints

    @property
    def curve(self) -> list[tuple[float, float]]:
        """(x, f(x)) computed by the model at the domain ends and every breakpoint: f is linear between them."""
        return self.analysis.curve

    @property
    def units(self) -> list[UnitCurve]:
        return self.analysis.units

    @cached_property
    def params(self) -> dict[str, Feeds]:
        """What set_param may change: every layer's W and b (`layers.0.linear.weight`, or `layers.0.W`)."""
        layers = self.module.affine_layers()
        hidden = [self.name_of(layer.hook_a) for layer in layers if isinstance(layer, ReLULayer)]
        inputs: list[str | None] = [None, *hidden]  # the first layer reads x itself
        return linear_feeds(self.module, [
            (layer.linear, self.name_of(layer.hook_z), into, f"layers.{i}")
            for i, (layer, into) in enumerate(zip(layers, inputs, strict=True))
        ])  # fmt: skip

    def edited(self, changes: Sequence[Change]) -> tuple[Analysis, Weights64]:
        """The analysis of the net with `changes` (set_param only) made: to a copy of its float64 weights for the
        regions and kinks, and as edits on its hooks for the curve, which the changed model's pass computes. The
        model's own weights are never touched."""
        where = {self.params[f"layers.{i}.{s}"].param: (i, s) for i in range(len(self.weights64)) for s in "Wb"}
        weights = [(W.copy(), b.copy()) for W, b in self.weights64]
        for change in changes:
            if change.op != "set_param" or change.name is None or change.value is None:
                raise ValueError(f"only set_param changes a net's analysis, not {change.op}")
            layer, which = where[self.params[change.name].param]
            weights[layer][0 if which == "W" else 1][change.index] = change.value

        def outputs(xs: list[float]) -> list[float]:
            batch = torch.tensor(xs, dtype=torch.float32).unsqueeze(1)  # [points, 1]
            edits = plan(self.module, changes, {}, params=self.params, model_input=batch)
            with editing(self.module, edits):
                return self.outputs(xs)

        return Analysis.of(weights, self.domain, outputs), weights

    def region_in(self, regions: list[Region], weights: Weights64, x: float, cache: dict[str, torch.Tensor]) -> Region:
        """The region of `regions` (of the net with `weights`) the captured pass at x was in, by its own ReLUs."""
        relus = [layer for layer in self.module.layers if isinstance(layer, ReLULayer)]
        active = tuple(tuple(cache[self.name_of(layer.hook_a)].gt(0).tolist()) for layer in relus)
        return region_of_pass(regions, weights, x, active)

    def run_with_cache(self, x: float) -> tuple[float, dict[str, torch.Tensor]]:
        """y = f(x) and every hook's value for this one input, without the batch axis."""
        out, cache = run_with_cache(self.module, torch.tensor([[x]], dtype=torch.float32))
        return float(out[0, 0]), {name: value[0] for name, value in cache.items()}

    @cached_property
    def _unfoldings(self) -> Unfoldings:
        """z = W·a + b and a = ReLU(z), layer by layer, from x."""
        wiring = Wiring(self.module)
        a, symbol = "x", "x"
        for k, layer in enumerate(self.module.affine_layers(), 1):
            a, symbol = wiring.relu_layer(layer, a, f"W{k}", symbol), f"a{k}"
        wiring.refused.update({name: "an MLP outputs a number, not a next-token distribution" for name in
                               ("output.scaled", "output.probs")})  # fmt: skip
        return wiring.done()

    def unfoldings(self) -> Unfoldings:
        return self._unfoldings

    def captured(self, x: float, cache: dict[str, torch.Tensor]) -> Captured:
        """The pass at x as its unfoldings read it: the first layer reads x."""
        return Captured(cache, {"x": torch.tensor([x], dtype=torch.float32)})

    def region_at(self, x: float) -> Region:
        return region_at(self.regions, x)

    def region_of_pass(self, x: float, cache: dict[str, torch.Tensor]) -> Region:
        """The region the captured pass at x was in, chosen by that pass's own ReLUs (a > 0 is on)."""
        return self.region_in(self.regions, self.weights64, x, cache)

    @staticmethod
    def target(x: float) -> float | None:
        """What the net was trained to output, sqrt(x); None where sqrt is undefined (x < 0)."""
        return math.sqrt(x) if x >= 0 else None

    def error(self, x: float, y: float) -> float | None:
        """How far the net's y is from sqrt(x); None where sqrt is undefined."""
        target = self.target(x)
        return None if target is None else y - target

    def extrapolating(self, x: float) -> bool:
        lo, hi = self.domain
        return not lo <= x <= hi
