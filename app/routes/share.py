"""Sharing a view: a QR code of its URL, drawn by this server so it works without a network."""

from __future__ import annotations

import io
from typing import Annotated

import segno
from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.errors import BUSY, InputError, documented

# A QR code at medium error correction holds 2,331 bytes: any 2,000 characters of a URL (ASCII) fit, while 2,000
# characters of other text may not, which the route checks. Every state URL here is far shorter.
MAX_QR_TEXT = 2000

router = APIRouter(prefix="/api", tags=["share"])


@router.get(
    "/qr",
    response_class=Response,
    responses={
        200: {"content": {"image/svg+xml": {}}, "description": "The QR code as SVG"},
        422: documented("No text, or more than a QR code holds; the message says how much"),
        **BUSY,
    },
)
async def qr_code(
    text: Annotated[str, Query(min_length=1, max_length=MAX_QR_TEXT, description="What to encode: a page's URL")],
) -> Response:
    """A QR code of `text` (a page's URL), as SVG."""
    try:
        code = segno.make(text, error="m", micro=False)
    except segno.DataOverflowError:
        size = f"{len(text)} characters, {len(text.encode('utf-8', 'surrogatepass'))} bytes as UTF-8"
        raise InputError(
            "text", f"the text does not fit in a QR code ({size})", f"Send at most {MAX_QR_TEXT} ASCII characters."
        ) from None
    svg = io.BytesIO()
    code.save(svg, kind="svg", scale=8, border=4, xmldecl=False)
    return Response(content=svg.getvalue(), media_type="image/svg+xml")
