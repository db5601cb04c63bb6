"""Loopback tools shared by `make bench` and `make load`: the production server, a plain HTTP/1.1 client, figures.

The server is started with the production command (one uvicorn worker, no access log) on a free port of
127.0.0.1. The client speaks HTTP/1.1 over asyncio streams with keep-alive and nothing else, so it costs the
shared cores little next to the server.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).parents[1]
HOST = "127.0.0.1"
COMMAND = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", HOST, "--no-access-log"]
START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def get(path: str, gzip: bool = False) -> bytes:
    """A GET; with `gzip`, as a browser asks for a file (the server may then send it compressed)."""
    accept = "Accept-Encoding: gzip, deflate, br\r\n" if gzip else ""
    return f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n{accept}\r\n".encode()


def post_json(path: str, body: object) -> bytes:
    payload = json.dumps(body).encode()
    head = f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}"
    return head.encode() + b"\r\n\r\n" + payload


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    ready_s: float  # from the start of the command to the first 200 from /healthz

    def memory_kib(self, field: str = "VmRSS") -> int:
        """A field of the server's /proc/<pid>/status: VmRSS (resident now) or VmHWM (the peak so far)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name == field:
                return int(value.split()[0])
        raise KeyError(f"{field} is not in /proc/{self.process.pid}/status")

    def cpu_seconds(self) -> float:
        """CPU time the server has used so far (user + system), from /proc/<pid>/stat."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _healthy(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2) as s:
            s.sendall(get("/healthz"))
            return b" 200 " in s.recv(1024).split(b"\r\n")[0]
    except OSError:
        return False


@contextmanager
def serve(name: str) -> Iterator[Server]:
    """Runs the production command until the block ends; `name` is the calling script, for messages."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen([*COMMAND, "--port", str(port)], cwd=ROOT)
    try:
        while not _healthy(port):
            if process.poll() is not None or time.perf_counter() - started > START_TIMEOUT_S:
                raise SystemExit(f"{name}: the server did not start")
            time.sleep(0.02)
        yield Server(process, port, time.perf_counter() - started)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def serve_with(name: str, env: dict[str, str]) -> Iterator[Server]:
    """As `serve`, with `env` added to the server's environment (LAYERWALK_REDIS_URL: replicas sharing a Redis)."""
    saved = {key: os.environ.get(key) for key in env}

    def restore() -> None:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    os.environ.update(env)
    try:
        with serve(name) as server:
            restore()  # the server has it; this process and the servers started after it do not
            yield server
    finally:
        restore()


class Response(NamedTuple):
    status: int
    body: bytes


class ClosedBeforeAnswerError(ConnectionError):
    """The server closed the connection before sending a byte of the answer."""


async def _read_response(reader: asyncio.StreamReader) -> tuple[Response, bool]:
    """One response and whether the connection stays open; bodies by Content-Length or chunked."""
    try:
        status_line = await reader.readline()
    except ConnectionResetError as error:
        raise ClosedBeforeAnswerError("the server reset the connection") from error
    if not status_line:
        raise ClosedBeforeAnswerError("the server closed the connection")
    status = int(status_line.split()[1])
    length, chunked, keep_alive = 0, False, True
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value
        elif name == b"connection":
            keep_alive = value != b"close"
    if not chunked:
        return Response(status, await reader.readexactly(length)), keep_alive
    body = bytearray()
    while size := int((await reader.readline()).split(b";")[0], 16):
        body += await reader.readexactly(size)
        await reader.readexactly(2)
    while await reader.readline() not in (b"\r\n", b""):  # trailers
        pass
    return Response(status, bytes(body)), keep_alive


class Connection:
    """One keep-alive connection, opened on first use and again after the server closed it or a request failed.

    As a browser does, a connection the server has closed while idle is not reused, and a request sent on a reused
    connection that the server closes before answering (it timed out the idle connection meanwhile: uvicorn does
    after 5 s) is sent once more on a fresh one; `resent` counts those.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.resent = 0
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._answered = 0  # responses read on the current connection

    async def request(self, raw: bytes) -> Response:
        if self._streams is not None and self._streams[0].at_eof():
            self.close()
        try:
            return await self._exchange(raw)
        except ClosedBeforeAnswerError:
            if not self._answered:
                raise
        self.resent += 1
        return await self._exchange(raw)

    async def _exchange(self, raw: bytes) -> Response:
        if self._streams is None:
            self._streams = await asyncio.open_connection(HOST, self.port)
            self._answered = 0
        reader, writer = self._streams
        try:
            writer.write(raw)
            response, keep_alive = await _read_response(reader)
        except BaseException:  # an error or a cancelled timeout leaves the stream mid-response: start afresh
            self.close()
            raise
        self._answered += 1
        if not keep_alive:
            self.close()
        return response

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


async def get_json(port: int, path: str) -> Any:
    """The JSON body of a GET that must answer 200."""
    connection = Connection(port)
    try:
        response = await connection.request(get(path))
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"GET {path} answered {response.status}: {response.body[:200]!r}")
    return json.loads(response.body)


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]
