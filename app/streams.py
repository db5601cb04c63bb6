"""Server-Sent Events: a stream of events that ends the moment the client leaves (a live run, a class)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import anyio
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send


def sse(event: str, data: dict[str, Any]) -> str:
    """One event as text/event-stream frames it."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


class EventStream(StreamingResponse):
    """Events as text/event-stream. Whatever the server's ASGI version, it listens for the client leaving while it
    streams, and `end` runs (a run's process killed, a page no longer counted) the moment either is over."""

    media_type = "text/event-stream"

    def __init__(self, stream: AsyncGenerator[str] | AsyncGenerator[bytes], end: Callable[[], Awaitable[None]]) -> None:
        super().__init__(stream, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        self.stream, self.end = stream, end

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as group:

                async def until_done() -> None:
                    await self.stream_response(send)
                    group.cancel_scope.cancel()

                async def until_gone() -> None:
                    await self.listen_for_disconnect(receive)
                    group.cancel_scope.cancel()

                group.start_soon(until_done)
                group.start_soon(until_gone)
        finally:
            with anyio.CancelScope(shield=True):
                await self.end()
                with contextlib.suppress(Exception):
                    await self.stream.aclose()
