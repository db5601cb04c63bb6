"""Request dependencies, as named Annotated aliases."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from app.passes import PassCache
from models.families import LoadedModel
from models.registry import Registry


async def get_registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


RegistryDep = Annotated[Registry, Depends(get_registry)]


async def get_model(model_id: str, request: Request) -> LoadedModel[Any]:
    """The model named in the path; an unknown id is a 404 naming the known ones."""
    registry: Registry = request.app.state.registry  # not RegistryDep: a nested dependency costs every request
    try:
        return registry.load(model_id)
    except KeyError as error:
        problem = registry.unavailable.get(model_id)
        detail = error.args[0] if problem is None else f"'{model_id}' is not served: {problem}"
        raise HTTPException(status_code=404, detail=detail) from None


ModelDep = Annotated[LoadedModel[Any], Depends(get_model)]


async def get_passes(request: Request) -> PassCache:
    passes: PassCache = request.app.state.passes
    return passes


PassesDep = Annotated[PassCache, Depends(get_passes)]
