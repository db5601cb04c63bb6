"""The MLP family in the API: its detail (with the exact analysis) and its forward pass, step by step.

Every number is the float32 value the model computed, unrounded.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from app import schemas
from app.errors import InputError, shortened
from app.passes import PassCache
from app.presenters.base import Label, Presenter, shapes, steps_from_cache
from app.presenters.labels import relu_layer_label
from models.explain import Captured, NextToken
from models.families.mlp import LoadedMLP
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


class MLPPresenter(Presenter[LoadedMLP]):
    family = "mlp"
    loaded = LoadedMLP
    detail_schema = MLPDetail
    forward_schema = MLPForward
    input_kind = "number"

    def label(self, model: LoadedMLP, name: str) -> Label:
        return relu_layer_label(model.module, name, "x", "OUTPUT (y)")

    def detail_fields(self, model: LoadedMLP) -> dict[str, object]:
        lo, hi = model.domain
        analysis = MLPAnalysis(
            domain=(lo, hi),
            n_regions=len(model.domain_regions),
            breakpoints=[
                Breakpoint(
                    x=p.x,
                    switched=[Unit(layer=layer, unit=unit) for layer, unit in p.switched],
                    slope_left=p.slope_left,
                    slope_right=p.slope_right,
                    kink=p.is_kink,
                )
                for p in model.domain_breakpoints
            ],
            regions=[region(r) for r in model.domain_regions],
            curve=model.curve,
            units=[
                HiddenUnit(
                    layer=u.layer,
                    unit=u.unit,
                    z=list(u.z),
                    a=list(u.a),
                    switches=[UnitSwitch(x=s.x, breakpoint=s.breakpoint, turns_on=s.turns_on) for s in u.switches],
                )
                for u in model.units
            ],
        )
        return {"analysis": analysis, "limits": MLPLimits(input_min=-INPUT_LIMIT, input_max=INPUT_LIMIT)}

    def page_context(self, model: LoadedMLP) -> dict[str, object]:
        lo, hi = model.domain
        return {"domain": f"[{lo:g}, {hi:g}]"}

    def x(self, model: LoadedMLP, request: schemas.ForwardRequest) -> float:
        if unused := sorted(request.model_fields_set & SAMPLING_FIELDS):
            raise InputError(unused[0], "does not apply to an mlp model, which outputs a number", "Leave it out.")
        return parse_input(request.input, model.domain)

    def forward(self, model: LoadedMLP, request: schemas.ForwardRequest, passes: PassCache) -> bytes:
        """The answer depends on x alone, so the whole body is kept (x.hex() tells -0.0 from 0.0)."""
        x = self.x(model, request)
        names = self.selected(model, request).names
        return passes.body((model.id, x.hex(), *names), lambda: self.result(model, x, names).model_dump_json().encode())

    def captured(
        self, model: LoadedMLP, request: schemas.ExplainRequest, passes: PassCache
    ) -> tuple[Captured, NextToken]:
        """The pass at x, run again: a few hundred multiplications, cheaper than keeping it."""
        x = self.x(model, request)
        _, cache = model.run_with_cache(x)
        return model.captured(x, cache), NextToken()

    def result(self, model: LoadedMLP, x: float, names: list[str]) -> MLPForward:
        y, cache = model.run_with_cache(x)
        output = MLPOutput(
            y=y,
            target=model.target(x),
            error=model.error(x, y),
            extrapolating=model.extrapolating(x),
            region=region(model.region_of_pass(x, cache)),
        )
        steps = [step for step in steps_from_cache(self.layout(model), cache) if step.name in names]
        return MLPForward(model=model.id, input=x, steps=steps, shapes=shapes(cache), output=output)


PRESENTER = MLPPresenter()
