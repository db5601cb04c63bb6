"""The OpenAPI page, served with our own copy of Swagger UI: FastAPI's default loads it from a CDN."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

SWAGGER = "vendor/swagger-ui-5.35.0"
router = APIRouter(include_in_schema=False)
SWAGGER_CONTRAST = (
    ".version-stamp pre { background: #3d5a00; }"
    ".swagger-ui .opblock-get .opblock-summary-method { background: #1d5fa8 !important; }"
    ".swagger-ui .opblock-post .opblock-summary-method { background: #0b6b3f !important; }"
    ".swagger-ui .info .url, .swagger-ui .info a { color: #1d5fa8; }"
    ".swagger-ui .json-schema-2020-12-expand-deep-button { color: #4d4d4d; }"
)


@router.get("/docs", response_class=HTMLResponse, name="swagger_ui_html")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Interactive API docs, offline."""
    page = get_swagger_ui_html(
        openapi_url=str(request.url_for("openapi")),
        title="layerwalk API",
        swagger_js_url=str(request.url_for("static", path=f"{SWAGGER}/swagger-ui-bundle.js")),
        swagger_css_url=str(request.url_for("static", path=f"{SWAGGER}/swagger-ui.css")),
        swagger_favicon_url=str(request.url_for("static", path="favicon.svg")),
        swagger_ui_parameters={"validatorUrl": None},  # the validator badge would call an outside server
    )
    # Swagger UI's page has no lang, and some of its colours fail contrast (white on light blue or green, 2.0-2.3:1):
    # darker shades pass 4.5:1. Its nested buttons (nested-interactive) are its own markup; docs/accessibility.md.
    html = bytes(page.body).decode().replace("<html>", '<html lang="en">', 1)
    html = html.replace("</head>", f"<style>{SWAGGER_CONTRAST}</style></head>", 1)
    return HTMLResponse(html)
