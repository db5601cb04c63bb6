"""The OpenAPI page, served with our own copy of Swagger UI: FastAPI's default loads it from a CDN."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

SWAGGER = "vendor/swagger-ui-5.35.0"
router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse, name="swagger_ui_html")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Interactive API docs, offline."""
    return get_swagger_ui_html(
        openapi_url=str(request.url_for("openapi")),
        title="layerwalk API",
        swagger_js_url=str(request.url_for("static", path=f"{SWAGGER}/swagger-ui-bundle.js")),
        swagger_css_url=str(request.url_for("static", path=f"{SWAGGER}/swagger-ui.css")),
        swagger_favicon_url=str(request.url_for("static", path="favicon.svg")),
        swagger_ui_parameters={"validatorUrl": None},  # the validator badge would call an outside server
    )
