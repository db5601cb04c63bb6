"""Real servers for the tests: the app as production serves it (uvicorn, an app factory) on a free loopback port."""

from __future__ import annotations

import os
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
