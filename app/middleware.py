"""ASGI middleware: a limit on requests handled at once, a request-body size limit, the root path a reverse proxy
serves the app under, security headers."""

from __future__ import annotations

import asyncio
import json
from contextlib import suppress

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _json_error(status: int, detail: str, *extra: tuple[bytes, bytes]) -> tuple[Message, Message]:
    payload = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *extra]
    return (
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": payload},
    )


class Capacity:
    """At most `max_active` API requests are handled at once; one more gets 503 with Retry-After, at once.

    The models run on the event loop, so requests over the limit would only queue behind the ones before them:
    answering them straight away bounds how long any request waits, and tells the client when to come back.
    Only /api/ counts: pages and static files cost no model time, and a page must load to show any error. Nor do
    the streams of class events (/api/class/CODE/events): a page holds one for the whole lecture, at no model time
    (LAYERWALK_CLASS_MAX_FOLLOWERS bounds them).
    """

    RETRY_AFTER_S = 1

    def __init__(self, app: ASGIApp, max_active: int) -> None:
        self.app = app
        self.max_active = max_active
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"].removeprefix(scope.get("root_path", "")) if scope["type"] == "http" else ""
        if not path.startswith("/api/") or (path.startswith("/api/class/") and path.endswith("/events")):
            await self.app(scope, receive, send)
            return
        if self.active >= self.max_active:
            detail = (
                f"The server is busy: it is handling {self.active} requests, its limit (setting "
                f"LAYERWALK_MAX_ACTIVE_REQUESTS). Retry in {self.RETRY_AFTER_S} s."
            )
            for message in _json_error(503, detail, (b"retry-after", str(self.RETRY_AFTER_S).encode())):
                await send(message)
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


class BodySizeLimit:
    """Answers 413 to a body over `max_bytes`, whether declared by Content-Length or streamed in chunks.

    Bodies here are small JSON objects, so the body is read into memory (at most max_bytes) and replayed.

    A 413 sent before the body has all arrived must still reach a client that sends its whole body before it reads
    (urllib does, and asks for Connection: close): a server that closes a socket holding unread bytes makes the
    kernel send a reset, which breaks the client's send and can discard the answer. So, as nginx and Apache do
    ("lingering close"), the answer goes out at once with Connection: close, and the connection is closed only
    after the rest of the body has been read and dropped, up to `drain_bytes` or `drain_s` seconds, whichever comes
    first, so a huge or slow body cannot hold the worker. A client that asked for 100-continue and has sent
    nothing is not asked for its body: it gets the 413 instead of the 100 and the connection closes.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, drain_bytes: int = 64 * 2**20, drain_s: float = 5.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.drain_bytes = drain_bytes
        self.drain_s = drain_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            waiting_for_100 = headers.get(b"expect", b"").lower() == b"100-continue"
            await self._too_large(send, int(declared), rest=None if waiting_for_100 else receive, complete=False)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._too_large(send, len(body), rest=receive, complete=not more)
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send, size: int, rest: Receive | None, *, complete: bool) -> None:
        """The 413. A body not `complete` is still arriving: the answer says the connection closes, and the rest
        of the body is read from `rest` and dropped before the answer ends (None: not read, the client waits)."""
        detail = (
            f"The request body is at least {size} bytes; the limit is {self.max_bytes} bytes "
            "(setting LAYERWALK_MAX_BODY_BYTES). Send a smaller body."
        )
        if complete:
            for message in _json_error(413, detail):
                await send(message)
            return
        start, answer = _json_error(413, detail, (b"connection", b"close"))
        await send(start)
        if rest is None:
            await send(answer)
            return
        await send({**answer, "more_body": True})  # the whole answer is out: a client reading while it sends has it
        await self._drain(rest)
        await send({"type": "http.response.body", "body": b"", "more_body": False})  # the server may close now

    async def _drain(self, receive: Receive) -> None:
        """Reads and drops the rest of a body, until it ends, the client leaves, or a bound is reached."""
        dropped = 0
        with suppress(TimeoutError):
            async with asyncio.timeout(self.drain_s):  # uvicorn runs on asyncio
                while dropped <= self.drain_bytes:
                    message = await receive()
                    if message["type"] != "http.request" or not message.get("more_body", False):
                        return
                    dropped += len(message.get("body", b""))


class RootPath:
    """Serves the app under `root_path`, as `uvicorn --root-path` does: by ASGI's rule the path includes the
    root path, so a path the proxy stripped gets it back (and one it kept is left alone). Links, static files and
    API URLs built with url_for all carry it.
    """

    def __init__(self, app: ASGIApp, root_path: str) -> None:
        self.app = app
        self.root_path = root_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            path, prefix = scope["path"], self.root_path
            if path != prefix and not path.startswith(prefix + "/"):
                raw = scope.get("raw_path") or path.encode()
                scope = {**scope, "path": prefix + path, "raw_path": prefix.encode() + raw}
            scope = {**scope, "root_path": prefix}
        await self.app(scope, receive, send)


# Only our own origin, for everything. Plotly draws with inline style attributes; blob: and data: URLs are the
# plots' image downloads and the page's JSON download. No page has an inline script.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


class SecurityHeaders:
    """Adds the headers every response gets: a Content-Security-Policy allowing only this origin (no CDN), no
    MIME sniffing, no referrer sent to other sites, and no framing by other sites."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", CSP.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.headers]}
            await send(message)

        await self.app(scope, receive, with_headers)
