"""The JSON API: the models, their details, their forward pass, generation and comparison.

Every route reaches the model's family through its presenter (app/presenters), so no route names a family. The
routes are made for one app, from the presenters registered when it is created: each answer's documented schema
is the union of the families' own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from app import schemas
from app.deps import ModelDep, PassesDep, RegistryDep
from app.errors import BUSY, InputError, documented
from app.presenters import PRESENTERS, Presenter, presenter_for
from models.families import FAMILIES, LoadedModel
from models.registry import CheckpointError, Registry

UNKNOWN_MODEL: dict[int | str, dict[str, Any]] = {404: documented("Unknown model; the message lists the known ids")}
# FastAPI documents a 422 of its own shape for every route with a parameter, though no id can fail validation;
# a 4XX entry takes its place and says what any error body here looks like.
ANY_ID: dict[int | str, dict[str, Any]] = {
    **UNKNOWN_MODEL,
    "4XX": documented("Any other client error, e.g. a wrong method"),
    **BUSY,
}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: documented("A body that cannot be parsed: not UTF-8, JSON nested too deeply, or a number too long"),
    404: documented("Unknown model, or a model whose family does not answer this request; the message says which do"),
    413: documented("Request body over the size limit"),
    422: documented("Invalid input; the message names the field, the bad value and the fix"),
    **BUSY,
}
WHAT = {"generate": "generate text", "compare": "compare two inputs"}


def as_json(result: BaseModel) -> Response:
    """A result we built ourselves, so pydantic validated it as it was made: serialised once, in pydantic-core,
    where FastAPI would validate it a second time first. The route's `response_model` still documents it."""
    return Response(result.model_dump_json(), media_type="application/json")


def one_of(schemas_: Sequence[type[BaseModel]]) -> Any:
    """The union of the families' schemas, as a route documents its answer."""
    return Union[tuple(dict.fromkeys(schemas_))]  # noqa: UP007


def gallery_order(model: LoadedModel[Any]) -> tuple[int, int, str]:
    """By family in the order they were registered (the teaching path), then smallest first."""
    return list(FAMILIES).index(model.family), model.n_params, model.id


def summaries(models: list[LoadedModel[Any]]) -> list[schemas.ModelSummary]:
    return [presenter_for(model).summary(model) for model in sorted(models, key=gallery_order)]


def offered(presenter: Presenter[Any], what: str) -> bool:
    """Whether the family answers `what` ("generate", "compare"): it says so by having that answer's schema."""
    return (presenter.generate_schema if what == "generate" else presenter.compare_schema) is not None


def offering(model: LoadedModel[Any], what: str, registry: RegistryDep) -> Presenter[Any]:
    """The model's presenter, if its family answers `what`; else a 404 that says which models do."""
    presenter = presenter_for(model)
    if offered(presenter, what):
        return presenter
    able = ", ".join(m.id for m in registry.load_all() if offered(presenter_for(m), what)) or "none"
    doers = "Text models" if what == "generate" else "Models that do"
    detail = f"'{model.id}' ({model.family}) does not {WHAT[what]}. {doers}: {able}."
    raise HTTPException(status_code=404, detail=detail)


def at(model: LoadedModel[Any], checkpoint: int | None, registry: Registry) -> LoadedModel[Any]:
    """The model with the weights saved at `checkpoint` (None: its final weights); a step that was not saved is a
    422 listing those that were."""
    try:
        return registry.at(model.id, checkpoint)
    except CheckpointError as error:
        raise InputError("checkpoint", error.problem, error.fix) from None


def router() -> APIRouter:
    """The API's routes, documenting the answers of every presenter registered now."""
    presenters = list(PRESENTERS.values())
    generators = [p.generate_schema for p in presenters if p.generate_schema is not None]
    comparers = [p.compare_schema for p in presenters if p.compare_schema is not None]
    api = APIRouter(prefix="/api", tags=["api"])

    @api.get("/models", responses=BUSY)
    async def list_models(registry: RegistryDep) -> list[schemas.ModelSummary | schemas.UnavailableModel]:
        """Every model served: by family, from neuron to transformer, then smallest first; then each model found but
        not served (`"available": false`), with its problem and the fix."""
        unavailable = [schemas.UnavailableModel(id=i, problem=p) for i, p in registry.unavailable.items()]
        return [*summaries(registry.load_all()), *unavailable]

    @api.get("/models/{model_id}", response_model=one_of([p.detail_schema for p in presenters]), responses=ANY_ID)
    async def model_detail(
        model: ModelDep,
        registry: RegistryDep,
        request: Request,
        checkpoint: str | None = Query(
            default=None,
            pattern=r"^[0-9]{1,9}$",
            description="A step of the detail's `checkpoints` (a whole number): the detail of the weights saved then",
        ),
    ) -> Response:
        """One model: config, hook names, training record, the checkpoints saved as it trained, and its family's own
        fields: an MLP's exact piecewise-linear form, a text model's vocabulary, the limits its requests must keep
        to."""
        if len(request.query_params.getlist("checkpoint")) > 1:
            raise InputError("checkpoint", "it is given more than once", "Send one checkpoint.")
        model = at(model, None if checkpoint is None else int(checkpoint), registry)
        return Response(presenter_for(model).detail_json(model), media_type="application/json")

    @api.post(
        "/models/{model_id}/forward", response_model=one_of([p.forward_schema for p in presenters]), responses=ERRORS
    )
    async def forward(
        model: ModelDep, request: schemas.ForwardRequest, passes: PassesDep, registry: RegistryDep
    ) -> Response:
        """Run one input through the model and return every intermediate value, in order."""
        model = at(model, request.checkpoint, registry)
        return Response(presenter_for(model).forward(model, request, passes), media_type="application/json")

    @api.post("/models/{model_id}/explain", response_model=schemas.Unfolding, responses=ERRORS)
    async def explain(
        model: ModelDep, request: schemas.ExplainRequest, passes: PassesDep, registry: RegistryDep
    ) -> Response:
        """Unfold one value of the forward pass: its computation from the step before, term by term, in full
        precision. The body is the forward request's, plus the value's `hook` and `index`."""
        model = at(model, request.checkpoint, registry)
        return as_json(presenter_for(model).explain(model, request, passes))

    if generators:

        @api.post("/models/{model_id}/generate", response_model=one_of(generators), responses=ERRORS)
        async def generate(model: ModelDep, request: schemas.GenerateRequest, registry: RegistryDep) -> Response:
            """Generate text one token at a time until the end token, max_new_tokens, or a loop."""
            model = at(model, request.checkpoint, registry)
            return as_json(offering(model, "generate", registry).generate(model, request))

    if comparers:

        @api.post("/models/{model_id}/compare", response_model=one_of(comparers), responses=ERRORS)
        async def compare(model: ModelDep, request: schemas.CompareRequest, registry: RegistryDep) -> Response:
            """Run two inputs and show where their residual streams part, layer by layer and position by position."""
            model = at(model, request.checkpoint, registry)
            return as_json(offering(model, "compare", registry).compare(model, request))

    return api
