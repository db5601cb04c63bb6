"""Error responses that do the explaining: every 4xx names the problem, the bad value and the fix."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from app.schemas import ErrorBody
from app.templating import templates

log = logging.getLogger("layerwalk")
SCHEMA_HINT = "See /docs for the request body this endpoint takes."
QUERY_HINT = "See /docs for the query parameters this endpoint takes."


def shortened(value: object, limit: int = 60) -> str:
    """The value quoted as Python would, cut to `limit` characters with an ellipsis inside the quotes."""
    if isinstance(value, str) and len(value) > limit:
        quoted = repr(value[:limit])
        return f"{quoted[:-1]}…{quoted[-1]}"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def documented(description: str) -> dict[str, Any]:
    """An error as a route's `responses` entry: what causes it, and the one shape every error body has."""
    return {"model": ErrorBody, "description": description}


# limits.Capacity answers any route but /healthz with this while the server is full.
BUSY: dict[int | str, dict[str, Any]] = {
    503: {
        **documented("The server is handling as many requests as it may (LAYERWALK_MAX_ACTIVE_REQUESTS)"),
        "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    }
}


class ErrorResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: a message that quotes the user's bad input (a lone
    surrogate, say) can always be encoded."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


class InputError(Exception):
    """A request that is well-formed JSON but asks for something the model cannot take."""

    def __init__(self, field: str, problem: str, fix: str, unknown: str | None = None) -> None:
        super().__init__(f"{field}: {problem}. {fix}")
        self.field = field
        self.unknown = unknown  # the word outside the vocabulary, when that is the problem: a page says it plainly


def _field(loc: tuple[Any, ...]) -> str:
    if len(loc) > 1 and loc[0] == "body" and isinstance(loc[1], int):
        return "body"  # a JSON syntax error: the int is a character position, not a field
    return ".".join(str(p) for p in loc if p not in ("body", "query")) or "body"


def _describe(error: dict[str, Any]) -> str:
    kind, loc = error["type"], tuple(error["loc"])
    if kind == "json_invalid":
        reason = error.get("ctx", {}).get("error", "JSON decode error")
        return f"The request body is not valid JSON ({reason}). Send a JSON object. {SCHEMA_HINT}"
    if kind == "missing" and loc == ("body",):
        return f"The request body is empty. Send a JSON object. {SCHEMA_HINT}"
    if kind == "model_attributes_type" and loc == ("body",):
        if isinstance(error["input"], bytes | str):  # a body that was not parsed as JSON at all
            return "The request body was not read as JSON. Send it with the header Content-Type: application/json."
        return f"The request body must be a JSON object, got {shortened(error['input'])}. {SCHEMA_HINT}"
    hint = QUERY_HINT if loc[:1] == ("query",) else SCHEMA_HINT
    if kind == "missing":
        return f"'{_field(loc)}' is missing. {hint}"
    if kind == "extra_forbidden":
        return f"'{_field(loc)}' is not a field of this request. {hint}"
    if kind == "value_error":  # our own validators' messages already name the value and the fix
        return f"{_field(loc)}: {error['msg'].removeprefix('Value error, ')}."
    return f"{_field(loc)}: {error['msg']} (got {shortened(error.get('input'))}). {hint}"


def _merge_union_branches(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`input: float | str` reports one error per branch; a reader wants one line per field."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for error in errors:
        loc = tuple(error["loc"])
        if len(loc) > 2 and loc[-1] in ("float", "str"):
            loc = loc[:-1]
            error = {**error, "loc": loc, "msg": "expected a number (or, for text models, a string)"}
        merged.setdefault(loc, error)
    return list(merged.values())


async def _validation_error(_request: Request, exc: Exception) -> ErrorResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _merge_union_branches([dict(e) for e in exc.errors()])
    messages = [_describe(e) for e in errors]
    return ErrorResponse(
        status_code=422,
        content={
            "detail": " ".join(messages),
            "errors": [{"field": _field(tuple(e["loc"])), "message": m} for e, m in zip(errors, messages, strict=True)],
        },
    )


async def _input_error(_request: Request, exc: Exception) -> ErrorResponse:
    assert isinstance(exc, InputError)
    error = {"field": exc.field, "message": str(exc), **({"unknown": exc.unknown} if exc.unknown is not None else {})}
    return ErrorResponse(status_code=422, content={"detail": str(exc), "errors": [error]})


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's and FastAPI's own terse errors, reworded to say what to do."""
    assert isinstance(exc, HTTPException)
    detail, path = exc.detail, request.url.path
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"Nothing at {path}. The models are listed at /api/models and the API at /docs."
    elif exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "another method")
        detail = f"{request.method} is not allowed on {path}. Use {allowed}; see /docs."
    elif exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):  # FastAPI chains the cause
        bad = exc.__cause__
        detail = (
            f"The request body is not UTF-8 (byte 0x{bad.object[bad.start]:02x} at position {bad.start}). "
            "Send the JSON encoded as UTF-8."
        )
    elif exc.status_code == 400 and detail == "There was an error parsing the body":
        detail = (
            "The request body could not be parsed (malformed JSON, nested too deeply, or a number too long). "
            "Send a flat JSON object with numbers of ordinary length."
        )
    if exc.status_code == 404 and _wants_a_page(request):
        return templates.TemplateResponse(request, "error.html", {"status": 404, "detail": detail}, status_code=404)
    return ErrorResponse(status_code=exc.status_code, content={"detail": detail}, headers=exc.headers)


def _wants_a_page(request: Request) -> bool:
    """A browser asking for a page (a mistyped link): it gets the message as a page, not as raw JSON. API paths and
    clients that do not ask for HTML get JSON."""
    path = request.url.path.removeprefix(request.scope.get("root_path", ""))
    return "text/html" in request.headers.get("accept", "") and not path.startswith(("/api/", "/static/"))


async def _unexpected(request: Request, exc: Exception) -> ErrorResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return ErrorResponse(status_code=500, content={"detail": "Internal error; it has been logged."})


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
