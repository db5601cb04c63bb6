"""The MLP family in the API: its detail (with the exact analysis) and its forward pass, step by step."""

from __future__ import annotations

import math
from functools import cache

import torch

from app import schemas
from app.errors import InputError
from models.hooks import hook_names
from models.mlp import Affine
from models.piecewise import Region
from models.registry import LoadedMLP

INPUT_LIMIT = 1000.0  # |x| bound: far outside the domain the float32 pass would overflow to ±inf


def _bound(value: float) -> float | None:
    return None if math.isinf(value) else value


def region(r: Region) -> schemas.Region:
    return schemas.Region(
        left=_bound(r.left), right=_bound(r.right), slope=r.slope, intercept=r.intercept,
        active=[list(layer) for layer in r.active],
    )  # fmt: skip


@cache
def analysis(model: LoadedMLP) -> schemas.MLPAnalysis:
    lo, hi = model.domain
    xs = [lo, *(p.x for p in model.domain_breakpoints), hi]
    with torch.no_grad():
        ys = model.module(torch.tensor(xs, dtype=torch.float32).unsqueeze(1)).squeeze(1).tolist()  # [points]
    return schemas.MLPAnalysis(
        domain=(lo, hi),
        n_regions=len(model.domain_regions),
        breakpoints=[
            schemas.Breakpoint(
                x=p.x,
                switched=[schemas.Unit(layer=layer, unit=unit) for layer, unit in p.switched],
                slope_left=p.slope_left,
                slope_right=p.slope_right,
                kink=p.is_kink,
            )
            for p in model.domain_breakpoints
        ],
        regions=[region(r) for r in model.domain_regions],
        curve=list(zip(xs, ys, strict=True)),
    )


def parse_input(value: float | str, domain: tuple[float, float]) -> float:
    """The x an MLP takes: a finite number within ±INPUT_LIMIT."""
    if isinstance(value, str):
        raise InputError("input", f"this model takes a number, got the string {value!r:.40}", "Send e.g. 4.0.")
    if not math.isfinite(value):
        raise InputError("input", f"{value} is not a finite number", "Send a number such as 4.0.")
    if abs(value) > INPUT_LIMIT:
        raise InputError(
            "input",
            f"{value!r} is out of range",
            f"Send a number between {-INPUT_LIMIT:g} and {INPUT_LIMIT:g} (the training domain is "
            f"[{domain[0]:g}, {domain[1]:g}]).",
        )
    return float(value)


def _titles(index: int, n_layers: int, kind: str) -> tuple[str, str]:
    """The article's labels: LAYER 1 (z1) ... OUTPUT (y). `index` is 0-based, the labels 1-based."""
    k = index + 1
    source = "x" if index == 0 else f"a{index}"
    if index == n_layers - 1:
        return "OUTPUT (y)", f"y = W{k}·{source} + b{k}"
    if kind == "z":
        return f"LAYER {k} (z{k})", f"z{k} = W{k}·{source} + b{k}"
    return f"LAYER {k} (a{k} = ReLU(z{k}))", f"a{k} = max(0, z{k})"


def forward(model: LoadedMLP, value: float | str) -> schemas.ForwardResult:
    x = parse_input(value, model.domain)
    y, cache_ = model.run_with_cache(x)
    n_layers = len(model.module.affine_layers())
    steps = []
    for name in hook_names(model.module):
        parent_name, _, hook = name.rpartition(".")
        parent = model.module.get_submodule(parent_name)
        index = int(parent_name.rsplit(".", 1)[1])
        title, formula = _titles(index, n_layers, hook.removeprefix("hook_"))
        value_ = cache_[name]  # [d_out]
        step = schemas.Step(name=name, shape=list(value_.shape), data=value_.tolist(), title=title, formula=formula)
        if hook == "hook_z" and isinstance(parent, Affine):
            step.W, step.b = parent.linear.weight.tolist(), parent.linear.bias.tolist()
        steps.append(step)
    return schemas.ForwardResult(
        model=model.id,
        input=x,
        steps=steps,
        output=schemas.MLPOutput(
            y=y,
            target=model.target(x),
            extrapolating=model.extrapolating(x),
            region=region(model.region_of_pass(x, cache_)),
        ),
    )
