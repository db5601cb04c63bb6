"""Live training: POST /api/train trains the MLP or the text net in a process of its own and streams its epochs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from app.errors import BUSY, InputError, documented
from app.schemas import WHOLE
from app.streams import EventStream
from app.training import LiveRun, Trainer
from models.training.live import EPOCH_EVENTS, MAX_EPOCHS, OPTIMIZERS, SHIPPED, WIDTHS, LiveSettings, SettingsError

RETRY_AFTER_S = 10  # a run takes a few seconds; most are over by then

router = APIRouter(prefix="/api", tags=["train"])

Whole = Annotated[int, Field(strict=True), WHOLE]


class TrainRequest(BaseModel):
    """A live run's settings; each one left out is the family's shipped model's."""

    model_config = ConfigDict(extra="forbid")

    family: str = Field(description=f"What to train: {' or '.join(repr(f) for f in SHIPPED)}")
    optimizer: str | None = Field(
        default=None, description="; ".join(f"'{name}': {said}" for name, said in OPTIMIZERS.items())
    )
    lr: Annotated[float, Field(strict=True)] | None = Field(default=None, description="The learning rate, > 0")
    seed: Whole | None = Field(default=None, description="The seed of the initial weights (and the MLP's samples)")
    epochs: Whole | None = Field(
        default=None, description=", ".join(f"the {f}: at most {cap}" for f, cap in MAX_EPOCHS.items())
    )
    width: Whole | None = Field(
        default=None,
        description=f"The text net's d_embed = d_hidden ({'–'.join(map(str, WIDTHS['textnet']))}); the MLP's "
        f"units per hidden layer ({'–'.join(map(str, WIDTHS['mlp']))})",
    )
    model: str | None = Field(
        default=None,
        description="The shipped model whose recipe (data, schedule) the run starts from, and whose settings fill in "
        f"the ones left out: {', '.join(SHIPPED.values())} by default; also textnet-4d-adam, sqrt-mlp-16x16",
    )
    every: Whole | None = Field(
        default=None, description=f"An epoch event every this many epochs; by default at most {EPOCH_EVENTS} events"
    )

    def settings(self) -> LiveSettings:
        """The settings with the family's defaults put in; a setting the run cannot take is a 422 naming it."""
        try:
            given = {k: v for k, v in self.model_dump(exclude={"family"}).items() if v is not None}
            return LiveSettings(**{**LiveSettings.defaults(self.family, self.model).to_dict(), "every": 0, **given})
        except SettingsError as error:
            raise InputError(error.field, error.problem, error.fix) from None


def as_json(response: dict[str, Any]) -> dict[str, Any]:
    """An error as the route documents it: JSON (ErrorBody, in the schema's components as every route's errors
    are), where its answers are an event stream."""
    described = {k: v for k, v in response.items() if k != "model"}
    return {**described, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}


RETRY = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    status: as_json(response)
    for status, response in {
        400: documented("A body that cannot be parsed: not UTF-8, JSON nested too deeply, or a number too long"),
        404: documented("Live training is off on this server (LAYERWALK_TRAIN_RUNS = 0)"),
        413: documented("Request body over the size limit"),
        422: documented("A setting the run cannot take; the message names the field and the fix"),
        429: {**documented("As many live runs go as the server allows (LAYERWALK_TRAIN_RUNS)"), "headers": RETRY},
        **BUSY,
    }.items()
}


@router.post(
    "/train",
    response_class=EventStream,
    status_code=200,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "start, epoch…, then done, diverged or stopped"},
        **ERRORS,
    },
)
async def train(body: TrainRequest, request: Request) -> EventStream:
    """Train the MLP or the text net with these settings, streaming its epochs as Server-Sent Events
    (docs/api.md#live-training)."""
    settings = body.settings()
    trainer: Trainer = request.app.state.trainer
    if trainer.max_runs == 0:
        detail = (
            "Live training is off on this server (setting LAYERWALK_TRAIN_RUNS = 0). Whoever runs it can set it to "
            "1 or more."
        )
        raise HTTPException(status_code=404, detail=detail)
    if not trainer.reserve():
        detail = (
            f"{trainer.running} live training runs are going, the most the server allows (setting "
            f"LAYERWALK_TRAIN_RUNS = {trainer.max_runs}). Retry in {RETRY_AFTER_S} s."
        )
        raise HTTPException(status_code=429, detail=detail, headers={"Retry-After": str(RETRY_AFTER_S)})
    run = LiveRun(trainer, settings)
    return EventStream(run.stream, run.end)
