"""Real servers for the tests: the app as production serves it (uvicorn, an app factory) on a free loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(factory: str, *options: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """The app `factory` makes, served by uvicorn with `options` (and `env` added to the environment) until the
    block ends; yields its base URL once /healthz answers."""
    port = free_port()
    uvicorn = [sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1", "--no-access-log"]
    command = [*uvicorn, *options, "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start (exit code {process.poll()})")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def redis_binary() -> str:
    """Debian's redis-server (or $LAYERWALK_REDIS_SERVER); `make setup` installs it (scripts/ensure-services)."""
    found = os.environ.get("LAYERWALK_REDIS_SERVER") or shutil.which("redis-server")
    if not found:
        raise RuntimeError("No redis-server: `make setup` installs it (scripts/ensure-services)")
    return found


@contextmanager
def redis_server(port: int | None = None, data_dir: Path | None = None) -> Iterator[str]:
    """A real Redis on a loopback port until the block ends; yields its URL once it answers PING. With `data_dir`,
    it keeps its data there (append-only file), so a server started again on it finds the same keys."""
    port = port or free_port()
    keep = (
        ["--dir", str(data_dir), "--appendonly", "yes", "--appendfsync", "always"]
        if data_dir
        else ["--appendonly", "no"]
    )
    command = [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", *keep]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                    connection.sendall(b"PING\r\n")
                    if connection.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start (exit code {process.poll()})")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
