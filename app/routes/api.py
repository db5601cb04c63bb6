"""The JSON API: the models, their details, and their forward pass."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response
from pydantic import BaseModel

from app import schemas
from app.deps import ModelDep, RegistryDep, WalksDep
from app.errors import BUSY, documented
from app.families import gpt, mlp, seq2seq, text, textnet
from app.schemas import FAMILY_ORDER
from models.hooks import hook_names
from models.registry import LoadedMLP, LoadedModel, LoadedSeq2Seq, LoadedTextNet

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
    **UNKNOWN_MODEL,
    413: documented("Request body over the size limit"),
    422: documented("Invalid input; the message names the field, the bad value and the fix"),
    **BUSY,
}

router = APIRouter(prefix="/api", tags=["api"])


def as_json(result: BaseModel) -> Response:
    """A result we built ourselves, so pydantic validated it as it was made: serialised once, in pydantic-core,
    where FastAPI would validate it a second time first. The route's `response_model` still documents it."""
    return Response(result.model_dump_json(), media_type="application/json")


def summary(model: LoadedModel) -> schemas.ModelSummary:
    r = model.record
    return schemas.ModelSummary(
        id=model.id, family=model.family, title=r["title"], description=r["description"], n_params=model.n_params
    )


def gallery_order(model: schemas.ModelSummary) -> tuple[int, int, str]:
    return FAMILY_ORDER.index(model.family), model.n_params, model.id


@router.get("/models", responses=BUSY)
async def list_models(registry: RegistryDep) -> list[schemas.ModelSummary]:
    """Every model served: by family, then smallest first."""
    return sorted((summary(model) for model in registry.load_all()), key=gallery_order)


@router.get("/models/{model_id}", responses=ANY_ID)
async def model_detail(model: ModelDep) -> schemas.ModelDetail:
    """One model: config, hook names, training record; MLPs add their exact piecewise-linear form, text nets
    their vocabulary and embedding table."""
    family: dict[str, object] = {}
    if isinstance(model, LoadedMLP):
        family = {"analysis": mlp.analysis(model)}
    elif isinstance(model, LoadedTextNet):
        family = textnet.detail_fields(model)
    elif isinstance(model, LoadedSeq2Seq):
        family = seq2seq.detail_fields(model)
    else:
        family = {"vocab": model.tokenizer.vocab}
    return schemas.ModelDetail.model_validate(
        {
            **summary(model).model_dump(),
            "config": model.record["config"],
            "hook_names": hook_names(model.module),
            "training": schemas.Training.model_validate(model.record),
            **family,
        }
    )


@router.post("/models/{model_id}/forward", response_model=schemas.ForwardResult, responses=ERRORS)
async def forward(model: ModelDep, request: schemas.ForwardRequest, walks: WalksDep) -> Response:
    """Run one input through the model and return every intermediate value, in order."""
    if isinstance(model, LoadedMLP):
        body = mlp.forward(model, request, walks)
    elif isinstance(model, LoadedTextNet):
        body = textnet.forward(model, request, walks)
    elif isinstance(model, LoadedSeq2Seq):
        body = seq2seq.forward(model, request, walks)
    else:
        body = gpt.forward(model, request, walks)
    return Response(body, media_type="application/json")


@router.post("/models/{model_id}/generate", response_model=schemas.GenerateResult, responses=ERRORS)
async def generate(model: ModelDep, request: schemas.GenerateRequest, registry: RegistryDep) -> Response:
    """Generate text one token at a time until the end token, max_new_tokens, or a loop."""
    if isinstance(model, LoadedMLP):
        text_models = ", ".join(m.id for m in registry.load_all() if not isinstance(m, LoadedMLP))
        raise HTTPException(
            status_code=404,
            detail=f"'{model.id}' is an {model.family} model and does not generate text. Text models: {text_models}.",
        )
    if isinstance(model, LoadedSeq2Seq):
        return as_json(seq2seq.generate(model, request))
    return as_json(text.generate(model, request))
