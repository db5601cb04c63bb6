"""A body over the limit, sent to the app as production serves it (uvicorn, the app factory, on 127.0.0.1).

The 413 must reach every client, also one that sends its whole body before it reads the answer and asks for the
connection to be closed after it, as urllib does. Answered early, such a client is still sending when the server
closes its end; closing a socket with unread bytes in it makes the kernel send a reset, which breaks the client's
send (urllib then raises and never reads the answer) and, on some systems, discards the answer. On loopback the
kernel can buffer a 2 MB body ahead of the server and hide this, so the client's send buffer is kept small, as the
bytes in flight are on a real network.
"""

from __future__ import annotations

import json
import re
import socket
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.app.error_cases import TOO_LARGE
from tests.servers import serving

FORWARD = "/api/models/sqrt-mlp-2x2/forward"
BODY_BYTES = 2 * 2**20
BODY = b" " * BODY_BYTES
CHUNKED_BODY = (
    b"".join(b"10000\r\n" + BODY[i : i + 2**16] + b"\r\n" for i in range(0, BODY_BYTES, 2**16)) + b"0\r\n\r\n"
)
SEND_BUFFER = 2**16
ATTEMPTS = 30
HTTP_PARSERS = ("httptools", "h11")  # uvicorn[standard] uses httptools; h11 is its fallback


@pytest.fixture(scope="module")
def ports() -> Iterator[dict[str, int]]:
    """One server per HTTP parser: the parser's name → its port."""
    with ExitStack() as servers:
        urls = {
            parser: servers.enter_context(
                serving("app.main:create_app", "--http", parser, env={"LAYERWALK_MAX_BODY_BYTES": "16384"})
            )
            for parser in HTTP_PARSERS
        }
        yield {parser: int(url.rsplit(":", 1)[1]) for parser, url in urls.items()}


def connect(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)  # before connecting: it sets the window
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    return sock


def read_to_the_end(sock: socket.socket) -> bytes:
    answer = b""
    while chunk := sock.recv(2**16):
        answer += chunk
    return answer


def post_then_read(port: int, chunked: bool) -> str:
    """A 2 MB POST as urllib sends it: the whole body, then the answer, then the server closes. Says what came of
    it: the answer's status and detail, or where the connection broke."""
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {BODY_BYTES}"
    head = f"POST {FORWARD} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{framing}\r\n"
    with connect(port) as sock:
        try:
            sock.sendall(f"{head}Connection: close\r\n\r\n".encode() + (CHUNKED_BODY if chunked else BODY))
        except OSError as error:
            return f"broken while sending the body: {type(error).__name__}"
        try:
            answer = read_to_the_end(sock)
        except OSError as error:
            return f"broken while reading the answer: {type(error).__name__}"
    status_line, _, body = answer.partition(b"\r\n\r\n")
    return f"{status_line.split()[1].decode()} {json.loads(body)['detail']}"


@pytest.mark.parametrize("parser", HTTP_PARSERS)
@pytest.mark.parametrize(
    ("chunked", "detail"),
    [
        pytest.param(False, re.escape(f"The request body is at least {BODY_BYTES} bytes{TOO_LARGE}"), id="declared"),
        pytest.param(True, rf"The request body is at least \d+ bytes{re.escape(TOO_LARGE)}", id="chunked"),
    ],
)
def test_every_client_sending_2_mb_before_reading_gets_the_413(
    ports: dict[str, int], parser: str, chunked: bool, detail: str
) -> None:
    outcomes = Counter(post_then_read(ports[parser], chunked) for _ in range(ATTEMPTS))
    wrong = {outcome: n for outcome, n in outcomes.items() if not re.fullmatch(f"413 {detail}", outcome)}
    assert not wrong, f"{sum(wrong.values())} of {ATTEMPTS} attempts did not get the 413: {wrong}"


@pytest.mark.parametrize("parser", HTTP_PARSERS)
def test_a_client_waiting_for_100_continue_gets_the_413_instead_and_the_connection_closes(
    ports: dict[str, int], parser: str
) -> None:
    with connect(ports[parser]) as sock:
        sock.sendall(
            f"POST {FORWARD} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {BODY_BYTES}\r\nExpect: 100-continue\r\n\r\n".encode()
        )
        answer = read_to_the_end(sock)  # the server closes: the body it did not ask for is not expected
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 "), "the 413, not a 100 Continue asking for the 2 MB"
    assert b"\r\nconnection: close" in head
    assert json.loads(body)["detail"] == f"The request body is at least {BODY_BYTES} bytes{TOO_LARGE}"
