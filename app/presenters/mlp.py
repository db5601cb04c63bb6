"""The MLP family in the API: its detail (with the exact analysis) and its forward pass, step by step."""

from __future__ import annotations

import math
from functools import cache

import torch
from torch import nn

from app import schemas
from app.errors import InputError, shortened
from app.families.steps import Label, Layout, layout, steps_from_cache
from app.walks import Walks
from models.mlp import Affine, ReLULayer
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
        raise InputError("input", f"this model takes a number, got the string {shortened(value, 40)}", "Send e.g. 4.0.")
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


def layer_label(module: nn.Module, name: str, source: str, last: str | None) -> Label:
    """The article's labels for `layers.{i}.hook_z|a`: LAYER 1 (z1), LAYER 1 (a1 = ReLU(z1)), ...

    `source` names the first layer's input; `last`, when given, titles the last layer's z (the MLP's output).
    """
    parent_name, _, hook = name.rpartition(".")
    parent = module.get_submodule(parent_name)
    index = int(parent_name.rsplit(".", 1)[1])  # 0-based in the hook name, 1-based in the labels
    k, a_in = index + 1, source if index == 0 else f"a{index}"
    linear = parent.linear if hook == "hook_z" and isinstance(parent, Affine) else None
    if hook == "hook_a":
        return f"LAYER {k} (a{k} = ReLU(z{k}))", f"a{k} = max(0, z{k})", None
    if last is not None and not isinstance(parent, ReLULayer):
        return last, f"y = W{k}·{a_in} + b{k}", linear
    return f"LAYER {k} (z{k})", f"z{k} = W{k}·{a_in} + b{k}", linear


SAMPLING_FIELDS = {"temperature", "top_k", "top_p", "repetition_penalty", "target"}


@cache
def _layout(model: LoadedMLP) -> list[Layout]:
    return layout(model.module, lambda name: layer_label(model.module, name, "x", "OUTPUT (y)"))


def forward(model: LoadedMLP, request: schemas.ForwardRequest, walks: Walks) -> bytes:
    """The result as JSON. It depends on x alone, so the whole body is kept (x.hex() tells -0.0 from 0.0)."""
    if unused := sorted(request.model_fields_set & SAMPLING_FIELDS):
        raise InputError(unused[0], "does not apply to an mlp model, which outputs a number", "Leave it out.")
    x = parse_input(request.input, model.domain)
    return walks.body((model.id, x.hex()), lambda: result(model, x).model_dump_json().encode())


def result(model: LoadedMLP, x: float) -> schemas.ForwardResult:
    y, cache_ = model.run_with_cache(x)
    return schemas.ForwardResult(
        model=model.id,
        input=x,
        steps=steps_from_cache(_layout(model), cache_),
        output=schemas.MLPOutput(
            y=y,
            target=model.target(x),
            extrapolating=model.extrapolating(x),
            region=region(model.region_of_pass(x, cache_)),
        ),
    )
