"""The JSON API: the models, their details, and their forward pass."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from app import schemas
from app.deps import ModelDep, RegistryDep
from app.families import gpt, mlp, seq2seq, text, textnet
from app.schemas import FAMILY_ORDER
from models.hooks import hook_names
from models.registry import LoadedMLP, LoadedModel, LoadedSeq2Seq, LoadedTextNet

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown model; the message lists the known ids"},
    413: {"description": "Request body over the size limit"},
    422: {"description": "Invalid input; the message names the field, the bad value and the fix"},
}

router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS)


def summary(model: LoadedModel) -> schemas.ModelSummary:
    r = model.record
    return schemas.ModelSummary(
        id=model.id, family=model.family, title=r["title"], description=r["description"], n_params=model.n_params
    )


def gallery_order(model: schemas.ModelSummary) -> tuple[int, int, str]:
    return FAMILY_ORDER.index(model.family), model.n_params, model.id


@router.get("/models")
async def list_models(registry: RegistryDep) -> list[schemas.ModelSummary]:
    """Every model served: by family, then smallest first."""
    return sorted((summary(model) for model in registry.load_all()), key=gallery_order)


@router.get("/models/{model_id}")
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


@router.post("/models/{model_id}/forward")
async def forward(model: ModelDep, request: schemas.ForwardRequest) -> schemas.ForwardResult:
    """Run one input through the model and return every intermediate value, in order."""
    if isinstance(model, LoadedMLP):
        return mlp.forward(model, request)
    if isinstance(model, LoadedTextNet):
        return textnet.forward(model, request)
    if isinstance(model, LoadedSeq2Seq):
        return seq2seq.forward(model, request)
    return gpt.forward(model, request)


@router.post("/models/{model_id}/generate")
async def generate(model: ModelDep, request: schemas.GenerateRequest, registry: RegistryDep) -> schemas.GenerateResult:
    """Generate text one token at a time until the end token, max_new_tokens, or a loop."""
    if isinstance(model, LoadedMLP):
        text_models = ", ".join(m.id for m in registry.load_all() if not isinstance(m, LoadedMLP))
        raise HTTPException(
            status_code=404,
            detail=f"'{model.id}' is an {model.family} model and does not generate text. Text models: {text_models}.",
        )
    if isinstance(model, LoadedSeq2Seq):
        return seq2seq.generate(model, request)
    return text.generate(model, request)
