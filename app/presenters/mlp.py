"""The MLP family in the API: its detail (with the exact analysis) and its forward pass, step by step.

Every number is the float32 value the model computed, unrounded.
"""

from __future__ import annotations

import math

import torch
from pydantic import BaseModel, Field
from torch import Tensor

from app import schemas
from app.errors import InputError, shortened
from app.passes import PassCache
from app.presenters import whatif
from app.presenters.base import Label, Presenter, answering, shapes, steps_from_cache
from app.presenters.labels import relu_layer_label
from models.explain import Captured, NextToken
from models.families.mlp import Analysis, LoadedMLP
from models.hooks import editing
from models.piecewise import Region as PiecewiseRegion

INPUT_LIMIT = 1000.0  # |x| bound: far outside the domain the float32 pass would overflow to ±inf
SAMPLING_FIELDS = {"temperature", "top_k", "top_p", "repetition_penalty", "target"}


class Region(BaseModel):
    """On [left, right] the net is y = slope·x + intercept; null bounds are unbounded."""

    left: float | None
    right: float | None
    slope: float
    intercept: float
    active: list[list[bool]] = Field(description="[hidden layer][unit]: true where the ReLU is on (z > 0)")


class Unit(BaseModel):
    layer: int = Field(description="0-based hidden layer, as in the hook name layers.{layer}")
    unit: int


class Breakpoint(BaseModel):
    x: float
    switched: list[Unit] = Field(description="The ReLUs that turn on or off at x")
    slope_left: float
    slope_right: float
    kink: bool = Field(description="True where the slope changes at x")


class UnitSwitch(BaseModel):
    x: float = Field(description="Where this unit's z crosses 0")
    breakpoint: int = Field(description="Index of that x in `breakpoints`")
    turns_on: bool = Field(description="Going right, the ReLU turns on here (false: it turns off)")


class HiddenUnit(BaseModel):
    """One hidden unit over the domain, at the x's of `curve`: linear between them, so exact."""

    layer: int = Field(description="0-based hidden layer, as in the hook name layers.{layer}")
    unit: int
    z: list[float] = Field(description="z[k] = this unit's W·a + b at x = curve[k][0]")
    a: list[float] = Field(description="a[k] = ReLU(z[k])")
    switches: list[UnitSwitch] = Field(description="Where the unit turns on or off inside the domain, left to right")


class MLPAnalysis(BaseModel):
    """The net's exact piecewise-linear form over its training domain."""

    domain: tuple[float, float]
    n_regions: int
    breakpoints: list[Breakpoint]
    regions: list[Region]
    curve: list[tuple[float, float]] = Field(
        description="(x, f(x)) computed by the model at the domain ends and every breakpoint; f is linear between"
    )
    units: list[HiddenUnit] = Field(description="Every hidden unit, layer by layer, at the x's of `curve`")


class MLPLimits(BaseModel):
    input_min: float = Field(description="The smallest x served (the training domain is in `analysis`)")
    input_max: float


class MLPDetail(schemas.ModelDetail):
    analysis: MLPAnalysis
    limits: MLPLimits


class MLPOutput(BaseModel):
    y: float
    target: float | None = Field(description="sqrt(x), what the net was trained to output; null for x < 0")
    error: float | None = Field(description="y − sqrt(x); null for x < 0")
    extrapolating: bool = Field(description="True when x is outside the training domain")
    region: Region


class MLPForward(schemas.ForwardResult):
    output: MLPOutput


def _bound(value: float) -> float | None:
    return None if math.isinf(value) else value


def region(r: PiecewiseRegion) -> Region:
    bound = _bound
    return Region(
        left=bound(r.left), right=bound(r.right), slope=r.slope, intercept=r.intercept,
        active=[list(layer) for layer in r.active],
    )  # fmt: skip


def parse_input(value: float | str, domain: tuple[float, float], field: str = "input") -> float:
    """The x an MLP takes: a finite number within ±INPUT_LIMIT."""
    if isinstance(value, str):
        raise InputError(field, f"this model takes a number, got the string {shortened(value, 40)}", "Send e.g. 4.0.")
    if not math.isfinite(value):
        raise InputError(field, f"{value} is not a finite number", "Send a number such as 4.0.")
    if abs(value) > INPUT_LIMIT:
        raise InputError(
            field,
            f"{value!r} is out of range",
            f"Send a number between {-INPUT_LIMIT:g} and {INPUT_LIMIT:g} (the training domain is "
            f"[{domain[0]:g}, {domain[1]:g}]).",
        )
    return float(value)


def analysed(model: LoadedMLP, found: Analysis) -> MLPAnalysis:
    """A net's exact piecewise form as the API gives it (the detail's, or a what-if's with its weights set)."""
    return MLPAnalysis(
        domain=model.domain,
        n_regions=len(found.domain_regions),
        breakpoints=[
            Breakpoint(
                x=p.x,
                switched=[Unit(layer=layer, unit=unit) for layer, unit in p.switched],
                slope_left=p.slope_left,
                slope_right=p.slope_right,
                kink=p.is_kink,
            )
            for p in found.domain_breakpoints
        ],
        regions=[region(r) for r in found.domain_regions],
        curve=found.curve,
        units=[
            HiddenUnit(
                layer=u.layer,
                unit=u.unit,
                z=list(u.z),
                a=list(u.a),
                switches=[UnitSwitch(x=s.x, breakpoint=s.breakpoint, turns_on=s.turns_on) for s in u.switches],
            )
            for u in found.units
        ],
    )


class MLPPresenter(Presenter[LoadedMLP]):
    family = "mlp"
    loaded = LoadedMLP
    detail_schema = MLPDetail
    forward_schema = MLPForward
    input_kind = "number"

    def label(self, model: LoadedMLP, name: str) -> Label:
        return relu_layer_label(model.module, name, "x", "OUTPUT (y)")

    def detail_fields(self, model: LoadedMLP) -> dict[str, object]:
        return {
            "analysis": analysed(model, model.analysis),
            "limits": MLPLimits(input_min=-INPUT_LIMIT, input_max=INPUT_LIMIT),
        }

    def page_context(self, model: LoadedMLP) -> dict[str, object]:
        lo, hi = model.domain
        return {"domain": f"[{lo:g}, {hi:g}]"}

    def x(self, model: LoadedMLP, request: schemas.ForwardRequest) -> float:
        if unused := sorted(request.model_fields_set & SAMPLING_FIELDS):
            raise InputError(unused[0], "does not apply to an mlp model, which outputs a number", "Leave it out.")
        return parse_input(request.input, model.domain)

    def forward(self, model: LoadedMLP, request: schemas.ForwardRequest, passes: PassCache) -> bytes:
        """The answer depends on x alone (and the changes asked for), so the whole body is kept (x.hex() tells -0.0
        from 0.0)."""
        x = self.x(model, request)
        names = self.selected(model, request).names
        key = (model.key, x.hex(), *names, *whatif.key_of(request))
        return passes.body(key, lambda: self.result(model, x, names, request).model_dump_json().encode())

    def captured(
        self, model: LoadedMLP, request: schemas.ExplainRequest, passes: PassCache
    ) -> tuple[Captured, NextToken]:
        """The pass at x, run again: a few hundred multiplications, cheaper than keeping it."""
        x = self.x(model, request)
        _, cache = model.run_with_cache(x)
        return model.captured(x, cache), NextToken()

    def result(self, model: LoadedMLP, x: float, names: list[str], request: schemas.Interventions) -> MLPForward:
        y, cache = model.run_with_cache(x)
        steps = [step for step in steps_from_cache(self.layout(model), cache) if step.name in names]
        output = self.output(model, x, y, model.region_of_pass(x, cache))
        what_if = None
        if request.interventions:
            what_if = self.what_if(model, x, names, request, cache)
        return MLPForward(
            **answering(model), input=x, steps=steps, shapes=shapes(cache), output=output,
            what_if=what_if,
        )  # fmt: skip

    def output(self, model: LoadedMLP, x: float, y: float, found: PiecewiseRegion) -> MLPOutput:
        return MLPOutput(
            y=y, target=model.target(x), error=model.error(x, y), extrapolating=model.extrapolating(x),
            region=region(found),
        )  # fmt: skip

    def what_if(
        self, model: LoadedMLP, x: float, names: list[str], request: schemas.Interventions, before: dict[str, Tensor]
    ) -> schemas.WhatIf:
        """The pass at x with the changes made, what moved, and (weights and biases set, nothing else) the changed
        net's exact piecewise form: its kinks and regions, and the curve its pass computes."""
        theirs = None
        if (other := whatif.source_of(request)) is not None:
            _, theirs = model.run_with_cache(parse_input(other, model.domain, whatif.source_field(request)))
        changes = whatif.changes(request)
        planned = whatif.edits(
            model.module, request, before, params=model.params, model_input=torch.tensor([[x]]), source=theirs
        )
        with editing(model.module, planned):
            y, after = model.run_with_cache(x)
        found = None
        where = model.region_of_pass(x, after)
        if all(change.op == "set_param" for change in changes):
            analysis, weights = model.edited(changes)
            found = analysed(model, analysis)
            where = model.region_in(analysis.regions, weights, x, after)
        moved = whatif.moved(before, after)
        return schemas.WhatIf(
            interventions=request.interventions,
            steps=[step for step in steps_from_cache(self.layout(model), after) if step.name in names],
            output=self.output(model, x, y, where), moved=moved, first_moved=moved[0].hook if moved else None,
            analysis=found,
        )  # fmt: skip


PRESENTER = MLPPresenter()
