"""compose.yaml: two replicas sharing their classes through Redis, behind nginx. No Docker engine is needed: nginx
runs with compose.yaml's own config, only its upstream addresses and listen port changed, in front of two real
app processes (LAYERWALK_REDIS_URL) and a real redis-server, all on loopback."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml  # type: ignore[import-untyped]

from tests.servers import ROOT, free_port, redis_server, serving

REDIS_URL = "redis://redis:6379/0"
UPSTREAM = re.compile(r"^(\s*server\s+)(\S+)(;)", re.MULTILINE)
LISTEN = re.compile(r"^(\s*listen\s+)(\S+)(;)", re.MULTILINE)
STREAMS = 4  # opened one after another through nginx: round robin puts them on both replicas


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def nginx_config() -> str:
    """The config nginx gets in the container: compose interpolates `$$` to `$`."""
    content: str = compose()["configs"]["nginx"]["content"]
    return content.replace("$$", "$")


def tool(name: str, setting: str, install: str) -> str:
    """A program the test runs; missing, the test fails saying how to get it (it never skips silently)."""
    found = os.environ.get(setting) or shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if not found:
        pytest.fail(f"{name} is not installed: {install} (or set {setting} to its path)")
    return found


def test_the_replicas_share_redis_and_keep_the_hardening() -> None:
    services = compose()["services"]
    apps = {name: service for name, service in services.items() if name.startswith("layerwalk")}
    assert len(apps) == 2
    for name, app in apps.items():
        assert app["environment"]["LAYERWALK_REDIS_URL"] == REDIS_URL, name
        assert app["environment"]["FORWARDED_ALLOW_IPS"], name  # join limits count students, not nginx
        assert app["read_only"] is True, name
        assert app["tmpfs"] == ["/tmp"], name
        assert app["restart"] == "unless-stopped", name
        assert "/healthz" in " ".join(app["healthcheck"]["test"]), name
        assert app["depends_on"]["redis"]["condition"] == "service_healthy", name
        assert "ports" not in app, name  # reached through nginx only
    redis = services["redis"]
    assert redis["image"].startswith("redis:7")
    assert redis["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]
    nginx = services["nginx"]
    assert nginx["ports"] == ["8000:80"]
    assert nginx["configs"] == [{"source": "nginx", "target": "/etc/nginx/conf.d/default.conf"}]
    assert {app: {"condition": "service_healthy"} for app in apps} == nginx["depends_on"]
    config = nginx_config()
    assert [m.group(2) for m in UPSTREAM.finditer(config)] == [f"{name}:8000" for name in apps]
    stream = config[config.index("location /api/class {") :]  # no trailing slash: nginx would redirect POST /api/class
    for setting in ("proxy_buffering off;", "proxy_read_timeout 1h;"):
        assert setting in stream
    # The replicas trust X-Forwarded-For ("*"): nginx must set it, not append to one a client wrote.
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in config
    assert "proxy_add_x_forwarded_for" not in config
    for setting in ("proxy_http_version 1.1;", 'proxy_set_header Connection "";'):
        assert setting in config


@contextmanager
def nginx(folder: Path, replicas: list[str]) -> Iterator[tuple[str, Path]]:
    """compose.yaml's nginx config with its upstreams pointed at `replicas` and listening on a free loopback port;
    yields its URL and its access log (nginx's standard output)."""
    command = tool("nginx", "LAYERWALK_NGINX", "apt-get install nginx-light")
    addresses = iter(url.removeprefix("http://") for url in replicas)
    port = free_port()
    site = UPSTREAM.sub(lambda m: f"{m.group(1)}{next(addresses)}{m.group(3)}", nginx_config())
    site, listens = LISTEN.subn(lambda m: f"{m.group(1)}127.0.0.1:{port}{m.group(3)}", site)
    assert listens == 1
    temp = "\n".join(f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                        "scgi"))  # fmt: skip
    main = f"daemon off;\nmaster_process off;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'};\n"
    main += f"events {{ worker_connections 256; }}\nhttp {{\n{temp}\n{site}\n}}\n"
    (folder / "nginx.conf").write_text(main)
    log = folder / "access.log"
    with log.open("wb") as out:
        process = subprocess.Popen([command, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e",
                                    str(folder / "error.log")], stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            errors = (folder / "error.log").read_text() if (folder / "error.log").exists() else ""
            assert process.poll() is None, f"nginx stopped: {errors}"
            assert time.monotonic() < deadline, f"nginx did not answer within 10 s: {errors}"
            time.sleep(0.05)
        yield url, log
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Stream:
    """A page following a class: its event stream read in a thread, each event with the time it arrived."""

    url: str
    events: list[tuple[str, dict[str, Any], float]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def start(self) -> None:
        host, _, port = self.url.removeprefix("http://").partition("/")[0].partition(":")
        self.socket = socket.create_connection((host, int(port)), timeout=30)
        path = "/" + self.url.removeprefix("http://").partition("/")[2]
        self.socket.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
        self.file = self.socket.makefile("rb")
        status = self.file.readline()
        assert b" 200 " in status, status
        headers = {}
        while (line := self.file.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        assert headers["content-type"].startswith("text/event-stream")
        self.chunked = headers.get("transfer-encoding") == "chunked"
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        text = ""
        try:
            while True:
                if self.chunked:
                    size = int(self.file.readline().split(b";")[0], 16)
                    data = self.file.read(size)
                    self.file.readline()
                else:
                    data = self.file.read1(65536)
                if not data:
                    return
                text += data.decode()
                while "\n\n" in text:
                    frame, text = text.split("\n\n", 1)
                    lines = dict(line.split(": ", 1) for line in frame.split("\n") if not line.startswith(":"))
                    if "event" in lines:
                        with self.arrived:
                            self.events.append((lines["event"], json.loads(lines["data"]), time.monotonic()))
                            self.arrived.notify_all()
        except (OSError, ValueError):
            return

    def wait_for(self, event: str, timeout: float = 5.0, **data: Any) -> float:
        """When an event of this name (and data) arrived; fails after `timeout` seconds without it."""

        def found() -> float | None:
            return next((t for e, d, t in self.events if e == event and data.items() <= d.items()), None)

        with self.arrived:
            self.arrived.wait_for(lambda: found() is not None, timeout)
            when = found()
        assert when is not None, f"no {event} {data} within {timeout} s; got {self.events}"
        return when

    def close(self) -> None:
        self.socket.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, list[str]]]:
    """nginx (compose.yaml's config) → two app processes → one redis-server."""
    folder = tmp_path_factory.mktemp("compose")
    with ExitStack() as stack:
        env = {"LAYERWALK_REDIS_URL": stack.enter_context(redis_server())}  # fails saying how to install it
        replicas = [stack.enter_context(serving("app.main:create_app", env=env)) for _ in range(2)]
        url, log = stack.enter_context(nginx(folder, replicas))
        yield url, log, replicas


def test_a_class_started_through_nginx_is_followed_through_nginx_on_both_replicas(
    stack: tuple[str, Path, list[str]],
) -> None:
    url, log, replicas = stack
    started = httpx.post(f"{url}/api/class", json={}, timeout=10)
    assert started.status_code == 201, started.text
    code, secret = started.json()["code"], started.json()["secret"]
    streams = [Stream(f"{url}/api/class/{code}/events") for _ in range(STREAMS)]
    try:
        for stream in streams:
            stream.start()
        for stream in streams:
            stream.wait_for("following")  # each page is counted: its replica has it
        view = "/models/tiny-gpt?text=dog+bites&stage=3"
        sent = time.monotonic()
        put = httpx.put(f"{url}/api/class/{code}/view", json={"view": view}, headers={"X-Class-Secret": secret},
                        timeout=10)  # fmt: skip
        assert put.status_code == 200, put.text
        for stream in streams:  # at once, not when a buffer fills or the stream ends
            assert stream.wait_for("view", view=view, seq=put.json()["seq"]) - sent < 3.0
        ended = httpx.delete(f"{url}/api/class/{code}", headers={"X-Class-Secret": secret}, timeout=10)
        assert ended.status_code == 204
        for stream in streams:
            stream.wait_for("ended")
    finally:
        for stream in streams:
            stream.close()
    deadline = time.monotonic() + 5  # nginx logs a stream once it has ended
    while True:
        served = [line for line in log.read_text().splitlines() if f"/api/class/{code}/events" in line]
        if len(served) == STREAMS or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    upstreams = [re.search(r"upstream=(\S+)", line) for line in served]
    assert len(upstreams) == STREAMS
    assert {m.group(1) for m in upstreams if m} == {r.removeprefix("http://") for r in replicas}
