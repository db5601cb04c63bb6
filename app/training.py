"""Live training runs, each in a child process of its own, streamed to the page as Server-Sent Events.

The routes are async and the models' forward passes run on the event loop, so training may not run there, nor in a
thread (it would hold the GIL): each run is a `python -m models.training.live` process at a lower priority, with one
torch thread, that writes one JSON line per event. Starting one costs about 3 s (torch, and the import an
optimizer's first use makes), so `warm` processes are started ahead and wait, loaded, for a run's settings.

A run holds one of `max_runs` places from the request until its stream ends; it is stopped after `time_cap_s`,
and its process is killed as soon as its client goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from models.training.live import NICENESS, LiveSettings

log = logging.getLogger("layerwalk")
ROOT = Path(__file__).parents[1]
COMMAND = [sys.executable, "-m", "models.training.live", "--wait"]
LINE_LIMIT = 2**22  # bytes of one event: a wide MLP's weights and curve are tens of kB
ENDS = {"done", "diverged"}  # the events a run's process ends with


def sse(event: str, data: Any) -> bytes:
    """One Server-Sent Event: its name and its data as one line of JSON."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _lowered() -> None:  # in the child, before it imports torch: its start-up gives way to the server too
    os.nice(NICENESS)


class Trainer:
    """The runs going on, at most `max_runs`, and the processes waiting for one."""

    def __init__(self, max_runs: int, time_cap_s: float, warm: int) -> None:
        self.max_runs, self.time_cap_s, self.warm = max_runs, time_cap_s, warm
        self.running = 0
        self.warming = False  # processes are started ahead only between the app's start and its end (lifespan)
        self.waiting: list[asyncio.subprocess.Process] = []
        self.pids: set[int] = set()  # every run's process alive now (the tests watch them go)
        self.filling: set[asyncio.Task[None]] = set()

    def reserve(self) -> bool:
        """Takes a place for a run, if one is free."""
        if self.running >= self.max_runs:
            return False
        self.running += 1
        return True

    def release(self) -> None:
        self.running -= 1

    async def _start(self) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *COMMAND, cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, limit=LINE_LIMIT, preexec_fn=_lowered if hasattr(os, "nice") else None,
        )  # fmt: skip

    async def fill(self) -> None:
        """Starts processes until `warm` wait for a run."""
        self.waiting = [p for p in self.waiting if p.returncode is None]
        while self.warming and len(self.waiting) < self.warm:
            self.waiting.append(await self._start())

    async def process(self) -> asyncio.subprocess.Process:
        """A process for a run: one that waits, loaded, if there is one (else one started now); the waiting ones are
        made up meanwhile, in a task of their own."""
        ready = [p for p in self.waiting if p.returncode is None]
        self.waiting = ready[1:]
        if self.warming and not self.filling:  # one task makes them up: two would each start the one missing
            task = asyncio.create_task(self.fill())
            self.filling.add(task)
            task.add_done_callback(self.filling.discard)
        process = ready[0] if ready else await self._start()
        self.pids.add(process.pid)
        return process

    async def close(self) -> None:
        """Ends the processes waiting for a run (at shutdown)."""
        self.warming = False
        for process in self.waiting:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        self.waiting = []
        for pid in self.pids:  # runs still going: their streams end as the server stops
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


class LiveRun:
    """One run's stream: its process's events as Server-Sent Events, then "stopped" at the time cap or "failed" if
    the process ends without a last event. `end()` kills the process and gives its place back, once."""

    def __init__(self, trainer: Trainer, settings: LiveSettings) -> None:
        self.trainer, self.settings = trainer, settings
        self.process: asyncio.subprocess.Process | None = None
        self.starting: asyncio.Future[asyncio.subprocess.Process] | None = None
        self.ended = False
        self.stream = self.events()

    async def events(self) -> AsyncGenerator[bytes, None]:
        started = time.monotonic()
        # a task of its own: a client that leaves while the process starts must still find it to kill it (end)
        self.starting = asyncio.ensure_future(self.trainer.process())
        self.process = process = await asyncio.shield(self.starting)
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(json.dumps(self.settings.to_dict()).encode() + b"\n")
        await process.stdin.drain()
        process.stdin.close()
        last, epoch = "", 0
        while True:
            left = started + self.trainer.time_cap_s - time.monotonic()
            try:
                line = await asyncio.wait_for(process.stdout.readline(), timeout=max(left, 0.001))
            except TimeoutError:
                cap = self.trainer.time_cap_s
                message = (
                    f"Stopped at epoch {epoch}: a live run may take at most {cap:g} s (setting "
                    "LAYERWALK_TRAIN_TIME_S). Train fewer epochs."
                )
                yield sse("stopped", {"epoch": epoch, "message": message})
                return
            if not line:
                break
            event = json.loads(line)
            last, epoch = event["event"], event["data"].get("epoch", epoch)
            yield sse(last, event["data"])
            if last in ENDS:
                return
        await self._failed(epoch)
        yield sse("failed", {"epoch": epoch, "message": "The training process ended unexpectedly; it has been logged."})

    async def _failed(self, epoch: int) -> None:
        assert self.process is not None
        assert self.process.stderr is not None
        said = (await self.process.stderr.read()).decode(errors="replace")[-2000:]
        log.error("live training ended without a last event at epoch %d: %s", epoch, said)

    async def end(self) -> None:
        if self.ended:
            return
        self.ended = True
        self.trainer.release()
        process = self.process
        if process is None and self.starting is not None:
            with anyio.CancelScope(shield=True), contextlib.suppress(OSError):
                process = await self.starting  # started after all: it is killed like any other
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        with anyio.CancelScope(shield=True):
            await process.wait()
        self.trainer.pids.discard(process.pid)


class EventStream(StreamingResponse):
    """A run's events as text/event-stream. Whatever the server's ASGI version, it listens for the client leaving
    while it streams, and the run ends (its process killed) the moment either is over."""

    media_type = "text/event-stream"

    def __init__(self, run: LiveRun) -> None:
        super().__init__(run.stream, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        self.run = run

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
                await self.run.end()
                with contextlib.suppress(Exception):
                    await self.run.stream.aclose()


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Processes wait, loaded, for live runs while the app serves; at its end they (and any run) are killed."""
    trainer: Trainer = app.state.trainer
    trainer.warming = True
    await trainer.fill()
    try:
        yield
    finally:
        await trainer.close()
