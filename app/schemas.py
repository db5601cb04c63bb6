"""The API contract in code: request and response models (see docs/api.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Family = Literal["mlp", "textnet", "gpt", "seq2seq"]
FAMILY_ORDER: list[str] = ["mlp", "textnet", "gpt", "seq2seq"]  # the teaching path, neuron to transformer


class ModelSummary(BaseModel):
    id: str
    family: Family
    title: str
    description: str
    n_params: int


class Training(BaseModel):
    """How the shipped weights were made, from the model's record."""

    seed: int
    init: str | None = None
    optimizer: dict[str, Any]
    loss: str
    epochs: int
    loss_curve: list[tuple[int, float]] = Field(description="[epoch, loss] pairs, about 100 of them")
    metrics: dict[str, float]
    data: dict[str, Any] = Field(description="What the net was trained on; `samples` lists the inputs")
    trained_at: str
    duration_s: float
    torch_version: str
    command: str


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


class MLPAnalysis(BaseModel):
    """The net's exact piecewise-linear form over its training domain."""

    domain: tuple[float, float]
    n_regions: int
    breakpoints: list[Breakpoint]
    regions: list[Region]
    curve: list[tuple[float, float]] = Field(
        description="(x, f(x)) computed by the model at the domain ends and every breakpoint; f is linear between"
    )


class ModelDetail(ModelSummary):
    config: dict[str, Any]
    hook_names: list[str]
    training: Training
    analysis: MLPAnalysis | None = None


class ForwardRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: float | str = Field(
        description="mlp: the number x (training domain [0, 10]; outside it is served and flagged)",
        examples=[4.0],
    )

    @field_validator("input", mode="before")
    @classmethod
    def _no_booleans(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"got the boolean {str(value).lower()}. Send a number such as 4.0")
        if isinstance(value, int) and abs(value) > 1e308:  # a JSON integer literal too long for a float
            raise ValueError(f"the integer with {len(str(abs(value)))} digits is too large. Send a number such as 4.0")
        return value


class Step(BaseModel):
    """One named value of the forward pass, in order."""

    name: str = Field(description="The hook name, e.g. layers.0.hook_z")
    shape: list[int]
    data: list[float] | list[list[float]]
    title: str
    formula: str | None = None
    W: list[list[float]] | None = Field(default=None, description="The weights this step used, [d_out][d_in]")
    b: list[float] | None = None


class MLPOutput(BaseModel):
    y: float
    target: float | None = Field(description="sqrt(x), what the net was trained to output; null for x < 0")
    extrapolating: bool = Field(description="True when x is outside the training domain")
    region: Region


class ForwardResult(BaseModel):
    model: str
    input: float
    steps: list[Step]
    output: MLPOutput


class Health(BaseModel):
    status: Literal["ok"]
    models: int
