"""The OpenAPI page, served with our own copy of Swagger UI (FastAPI's default loads it from a CDN), started from
a static file rather than an inline script so the page passes the app's Content-Security-Policy."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.templating import templates

SWAGGER = "vendor/swagger-ui-5.35.0"
router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse, name="swagger_ui_html")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Interactive API docs, offline."""
    return templates.TemplateResponse(request, "docs.html", {"swagger": SWAGGER})
