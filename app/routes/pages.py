"""HTML pages, each linked to its JSON twin; a model page fetches its twin from /api and draws it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.deps import ModelDep, RegistryDep
from app.routes.api import list_models, summary
from app.templating import templates
from models.registry import LoadedMLP

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/", name="gallery")
async def gallery(request: Request, registry: RegistryDep) -> HTMLResponse:
    """The gallery of served models."""
    models = await list_models(registry)
    return templates.TemplateResponse(request, "index.html", {"models": models})


@router.get("/models/{model_id}", name="model_page")
async def model_page(request: Request, model: ModelDep, registry: RegistryDep) -> HTMLResponse:
    """A model's page; its state (x) lives in the query string."""
    context: dict[str, object] = {"model": summary(model)}
    if isinstance(model, LoadedMLP):
        lo, hi = model.domain
        context["domain"] = f"[{lo:g}, {hi:g}]"
    else:  # the other models of the family, one click apart
        context["siblings"] = [m for m in await list_models(registry) if m.family == model.family]
    return templates.TemplateResponse(request, f"{model.family}.html", context)
