"""Request dependencies, as named Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from app.walks import Walks
from models.registry import LoadedModel, Registry


async def get_registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


RegistryDep = Annotated[Registry, Depends(get_registry)]


async def get_model(model_id: str, request: Request) -> LoadedModel:
    """The model named in the path; an unknown id is a 404 naming the known ones."""
    registry: Registry = request.app.state.registry  # not RegistryDep: a nested dependency costs every request
    try:
        return registry.load(model_id)
    except KeyError as error:
        raise HTTPException(status_code=404, detail=error.args[0]) from None


ModelDep = Annotated[LoadedModel, Depends(get_model)]


async def get_walks(request: Request) -> Walks:
    walks: Walks = request.app.state.walks
    return walks


WalksDep = Annotated[Walks, Depends(get_walks)]
