"""HTML pages, each linked to its JSON twin; a model page fetches its twin from /api and draws it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.deps import ModelDep, RegistryDep
from app.presenters import presenter_for
from app.routes.api import summaries
from app.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/", name="gallery")
async def gallery(request: Request, registry: RegistryDep) -> HTMLResponse:
    """The gallery of served models."""
    return templates.TemplateResponse(request, "index.html", {"models": summaries(registry.load_all())})


@router.get("/models/{model_id}", name="model_page")
async def model_page(request: Request, model: ModelDep, registry: RegistryDep) -> HTMLResponse:
    """A model's page, drawn by its family's template; its state lives in the query string."""
    presenter = presenter_for(model)
    siblings = [m for m in summaries(registry.load_all()) if m.family == model.family]  # one click apart
    context = {"model": presenter.summary(model), "siblings": siblings, **presenter.page_context(model)}
    return templates.TemplateResponse(request, presenter.template, context)
