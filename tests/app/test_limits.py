"""The ASGI limits of the real app: requests handled at once (503 with Retry-After beyond them) and CORS."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi import FastAPI
from starlette.types import Message

from app.config import Settings
from app.main import create_app
from tests.app.conftest import Client


async def call(app: FastAPI, path: str, body: bytes, arrived: asyncio.Event) -> tuple[int, dict[str, str], bytes]:
    """One request straight through the ASGI app; its body arrives only once `arrived` is set."""
    method = "POST" if body else "GET"
    headers = [(b"host", b"testserver"), (b"content-type", b"application/json")]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
        "server": ("testserver", 80), "client": ("127.0.0.1", 5000),
    }  # fmt: skip
    sent: list[Message] = []
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:  # the response is out: what a server sends next is the disconnect
            await asyncio.sleep(3600)
        await arrived.wait()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    head = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], head, b"".join(m.get("body", b"") for m in sent[1:])


FORWARD = "/api/models/sqrt-mlp-2x2/forward"


def test_a_request_beyond_the_limit_gets_503_with_retry_after_and_the_held_ones_finish() -> None:
    app = create_app(Settings(max_active_requests=2))

    async def scenario() -> list[tuple[int, dict[str, str], bytes]]:
        slow = asyncio.Event()  # two clients whose bodies are still on their way hold both places
        held = [asyncio.create_task(call(app, FORWARD, b'{"input": 4}', slow)) for _ in range(2)]
        await asyncio.sleep(0.05)
        now = asyncio.Event()
        now.set()
        refused = await call(app, FORWARD, b'{"input": 4}', now)
        health = await call(app, "/healthz", b"", now)
        page = await call(app, "/models/sqrt-mlp-2x2", b"", now)
        slow.set()
        done = await asyncio.gather(*held)
        after = await call(app, FORWARD, b'{"input": 4}', now)
        return [refused, health, page, *done, after]

    (status, head, body), health, page, *finished = asyncio.run(scenario())
    assert status == 503
    assert head["retry-after"] == "1"
    assert head["content-type"] == "application/json"
    assert "default-src 'self'" in head["content-security-policy"]
    assert json.loads(body)["detail"] == (
        "The server is busy: it is handling 2 requests, its limit (setting LAYERWALK_MAX_ACTIVE_REQUESTS). "
        "Retry in 1 s."
    )
    assert health[0] == 200, "a busy server still answers its health check"
    assert page[0] == 200, "and serves pages, which cost no model time"
    for status, _, body in finished:  # the two held, then one after they left: the places were given back
        assert status == 200
        assert json.loads(body)["output"]["y"] == pytest.approx(2.0, abs=0.25)


def test_cors_is_off_by_default_no_other_origin_is_told_it_may_read() -> None:
    client = Client(create_app(Settings()))
    response = client.post(FORWARD, json={"input": 4}, headers={"Origin": "https://elsewhere.example"})
    assert response.status_code == 200
    assert not any(name.startswith("access-control-") for name in response.headers)
    preflight = client.request(
        "OPTIONS", FORWARD, headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_allows_exactly_the_configured_origins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAYERWALK_CORS_ORIGINS", '["https://course.example.org"]')
    client = Client(create_app())
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = client.request("OPTIONS", FORWARD, headers={"Origin": "https://course.example.org", **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://course.example.org"
    response = client.post(FORWARD, json={"input": 4}, headers={"Origin": "https://course.example.org"})
    assert response.headers["access-control-allow-origin"] == "https://course.example.org"
    other = client.request("OPTIONS", FORWARD, headers={"Origin": "https://elsewhere.example", **preflight})
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
