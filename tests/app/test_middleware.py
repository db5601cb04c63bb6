"""The ASGI middleware of the real app: requests handled at once (503 with Retry-After beyond them), CORS, and
bodies over the limit (413, the rest of the body read and dropped)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from app.config import Settings
from app.main import create_app
from app.middleware import BodySizeLimit
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


# A body over the limit that is still arriving: the 413 goes out at once, with Connection: close, and the rest of the
# body is read and dropped (up to a bound in bytes and one in time) before the answer ends and the server closes.
LIMIT = 1000
TOO_LARGE = "; the limit is 1000 bytes (setting LAYERWALK_MAX_BODY_BYTES). Send a smaller body."


def body_in(*sizes: int) -> Iterator[Message]:
    """A body arriving in chunks of these sizes."""
    for i, size in enumerate(sizes):
        yield {"type": "http.request", "body": b"." * size, "more_body": i < len(sizes) - 1}


async def through_limit(
    headers: dict[str, str],
    messages: Iterator[Message],
    pause_s: float = 0.0,
    drain_bytes: int = 2**30,
    drain_s: float = 60.0,
) -> list[str]:
    """What BodySizeLimit (limit 1000 bytes) does with a POST whose body comes as `messages`, each `pause_s` after
    the one before, the client leaving after the last: what it read and what it sent, in order. The app behind it
    answers 200, saying how many bytes it got."""
    raw_headers = [(name.encode(), value.encode()) for name, value in headers.items()]
    scope = {"type": "http", "method": "POST", "path": "/api/x", "headers": raw_headers}
    log: list[str] = []

    async def receive() -> Message:
        await asyncio.sleep(pause_s)
        message = next(messages, {"type": "http.disconnect"})
        more = " more" if message.get("more_body") else ""
        log.append(f"read {len(message['body'])}{more}" if message["type"] == "http.request" else "read disconnect")
        return message

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            connection = dict(message["headers"]).get(b"connection", b"keep-alive").decode()
            log.append(f"send {message['status']}, connection: {connection}")
        else:
            detail = json.loads(message["body"])["detail"] if message["body"] else ""
            log.append(f"send {detail!r}" + (" more" if message.get("more_body") else " end"))

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        body = (await receive())["body"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": json.dumps({"detail": f"got {len(body)} bytes"}).encode()})

    await BodySizeLimit(app, max_bytes=LIMIT, drain_bytes=drain_bytes, drain_s=drain_s)(scope, receive, send)
    return log


def test_a_declared_body_over_the_limit_is_answered_at_once_then_read_to_its_end_before_the_answer_ends() -> None:
    log = asyncio.run(through_limit({"content-length": "5000"}, body_in(2000, 2000, 1000)))
    detail = f"The request body is at least 5000 bytes{TOO_LARGE}"
    assert log == [
        "send 413, connection: close", f"send {detail!r} more",  # the whole answer is out before any byte is read
        "read 2000 more", "read 2000 more", "read 1000",  # then the body, to its end, so closing resets nothing
        "send '' end",
    ]  # fmt: skip


def test_a_streamed_body_over_the_limit_is_answered_when_it_crosses_it_then_read_to_its_end() -> None:
    log = asyncio.run(through_limit({}, body_in(600, 600, 600, 600)))
    detail = f"The request body is at least 1200 bytes{TOO_LARGE}"
    assert log == [
        "read 600 more", "read 600 more",
        "send 413, connection: close", f"send {detail!r} more",
        "read 600 more", "read 600",
        "send '' end",
    ]  # fmt: skip


def test_a_body_that_ends_as_it_crosses_the_limit_is_answered_on_a_connection_that_stays_open() -> None:
    log = asyncio.run(through_limit({}, body_in(600, 600)))
    detail = f"The request body is at least 1200 bytes{TOO_LARGE}"
    assert log == ["read 600 more", "read 600", "send 413, connection: keep-alive", f"send {detail!r} end"]


def test_a_client_waiting_for_100_continue_is_answered_at_once_and_never_asked_for_its_body() -> None:
    log = asyncio.run(through_limit({"content-length": "5000", "expect": "100-Continue"}, body_in(5000)))
    detail = f"The request body is at least 5000 bytes{TOO_LARGE}"
    assert log == ["send 413, connection: close", f"send {detail!r} end"]  # a receive() would send the 100


def test_an_endless_body_is_read_no_further_than_the_byte_bound() -> None:
    endless = itertools.repeat({"type": "http.request", "body": b"." * 2**20, "more_body": True})
    log = asyncio.run(through_limit({}, endless, drain_bytes=3 * 2**20))
    assert log[:2] == ["read 1048576 more", "send 413, connection: close"]
    assert log[3:] == ["read 1048576 more"] * 4 + ["send '' end"]  # 4 MiB dropped: past the 3 MiB bound, it stops


def test_a_body_trickling_in_is_read_no_longer_than_the_time_bound() -> None:
    trickle = itertools.repeat({"type": "http.request", "body": b"." * 1001, "more_body": True})  # 20 a second
    started = time.monotonic()
    log = asyncio.run(through_limit({}, trickle, pause_s=0.05, drain_s=0.3))
    assert 0.3 <= time.monotonic() - started < 2
    assert log[1:3] == [
        "send 413, connection: close",
        f"send 'The request body is at least 1001 bytes{TOO_LARGE}' more",
    ]
    assert log[3:] == ["read 1001 more"] * (len(log) - 4) + ["send '' end"]
    assert len(log) - 4 <= 0.3 / 0.05  # no more reads than fit in the 0.3 s


def test_a_client_that_leaves_while_its_body_is_read_ends_the_reading() -> None:
    log = asyncio.run(through_limit({"content-length": "5000"}, iter(list(body_in(2000, 2000, 1000))[:2])))
    assert log[2:] == ["read 2000 more", "read 2000 more", "read disconnect", "send '' end"]


def test_a_body_within_the_limit_is_read_once_and_handed_to_the_app_whole() -> None:
    log = asyncio.run(through_limit({"content-length": "1000"}, body_in(500, 500)))
    assert log == ["read 500 more", "read 500", "send 200, connection: keep-alive", "send 'got 1000 bytes' end"]
