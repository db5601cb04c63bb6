"""The JSON API: the models, their details, and their forward pass."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app import schemas
from app.deps import ModelDep, RegistryDep
from app.families import mlp
from app.schemas import FAMILY_ORDER
from models.hooks import hook_names
from models.registry import LoadedModel

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
    """One model: its config, hook names, training record and (for MLPs) its exact piecewise-linear form."""
    return schemas.ModelDetail(
        **summary(model).model_dump(),
        config=model.record["config"],
        hook_names=hook_names(model.module),
        training=schemas.Training.model_validate(model.record),
        analysis=mlp.analysis(model),
    )


@router.post("/models/{model_id}/forward")
async def forward(model: ModelDep, request: schemas.ForwardRequest) -> schemas.ForwardResult:
    """Run one input through the model and return every intermediate value, in order."""
    return mlp.forward(model, request.input)
