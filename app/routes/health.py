"""Liveness and readiness: the server is up and its models are loaded."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import RegistryDep
from app.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(registry: RegistryDep) -> Health:
    """Up, with the number of models served."""
    return Health(status="ok", models=len(registry.ids()))
