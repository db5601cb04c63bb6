"""Sharing a view: a QR code of its URL, drawn by this server so it works without a network."""

from __future__ import annotations

import io
from typing import Annotated

import segno
from fastapi import APIRouter, Query
from fastapi.responses import Response

MAX_QR_TEXT = 2000  # a QR code holds about 2,900 bytes at medium error correction; every state URL here is far shorter

router = APIRouter(prefix="/api", tags=["share"])


@router.get(
    "/qr",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}, "description": "The QR code as SVG"}},
)
async def qr_code(
    text: Annotated[str, Query(min_length=1, max_length=MAX_QR_TEXT, description="What to encode: a page's URL")],
) -> Response:
    """A QR code of `text` (a page's URL), as SVG."""
    svg = io.BytesIO()
    segno.make(text, error="m", micro=False).save(svg, kind="svg", scale=8, border=4, xmldecl=False)
    return Response(content=svg.getvalue(), media_type="image/svg+xml")
