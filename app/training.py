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
import shutil
import signal
import sys
import time
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI

from models.training.live import NICENESS, LiveSettings

log = logging.getLogger("layerwalk")
ROOT = Path(__file__).parents[1]
COMMAND = [sys.executable, "-m", "models.training.live", "--wait"]
LINE_LIMIT = 2**22  # bytes of one event: a wide MLP's weights and curve are tens of kB
ENDS = {"done", "diverged"}  # the events a run's process ends with
FAILED = "The training process ended unexpectedly; it has been logged. Try again."
SAID = 2000  # characters of a process's stderr kept for the log


def sse(event: str, data: Any) -> bytes:
    """One Server-Sent Event: its name and its data as one line of JSON."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


# The child starts at the lowest priority, so even its start-up (importing torch) gives way to the server; it lowers
# its own priority too, where there is no `nice` to start it with.
NICE = ["nice", "-n", str(NICENESS)] if shutil.which("nice") else []


async def _ended(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    await process.wait()


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
            *NICE, *COMMAND, cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, limit=LINE_LIMIT,
        )  # fmt: skip

    async def fill(self) -> None:
        """Starts processes until `warm` wait for a run. The list is only ever changed in place, so a process started
        while a run takes another is never lost; one started as the app stops is ended at once."""
        self.waiting[:] = [p for p in self.waiting if p.returncode is None]
        while self.warming and len(self.waiting) < self.warm:
            started = await self._start()
            if self.warming:
                self.waiting.append(started)
            else:
                await _ended(started)

    async def process(self) -> asyncio.subprocess.Process:
        """A process for a run: one that waits, loaded, if there is one (else one started now); the waiting ones are
        made up meanwhile, in a task of their own."""
        ready = None
        while self.waiting and ready is None:
            taken = self.waiting.pop(0)
            ready = taken if taken.returncode is None else None
        if self.warming and not self.filling:  # one task makes them up: two would each start the one missing
            task = asyncio.create_task(self.fill())
            self.filling.add(task)
            task.add_done_callback(self.filling.discard)
        process = ready if ready is not None else await self._start()
        self.pids.add(process.pid)
        return process

    async def close(self) -> None:
        """Ends the processes waiting for a run (at shutdown)."""
        self.warming = False
        for task in list(self.filling):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
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
        self.said: asyncio.Task[str] | None = None  # the last of what the process wrote on stderr
        self.stream = self.events()

    async def events(self) -> AsyncGenerator[bytes, None]:
        started = time.monotonic()
        # a task of its own: a client that leaves while the process starts must still find it to kill it (end)
        self.starting = asyncio.ensure_future(self.trainer.process())
        last, epoch = "", 0
        try:
            self.process = process = await asyncio.shield(self.starting)
            assert process.stdin is not None
            assert process.stdout is not None
            assert process.stderr is not None
            self.said = asyncio.create_task(_tail(process.stderr))  # read as it comes: a full pipe would stall it
            process.stdin.write(json.dumps(self.settings.to_dict()).encode() + b"\n")
            await process.stdin.drain()
            process.stdin.close()
        except OSError as error:  # it could not be started, or it died before it read its settings
            log.error("live training could not start: %s", error)
            yield sse("failed", {"epoch": epoch, "message": FAILED})
            return
        while True:
            left = started + self.trainer.time_cap_s - time.monotonic()
            try:
                line = await asyncio.wait_for(process.stdout.readline(), timeout=max(left, 0.001))
                event = json.loads(line) if line else None
            except TimeoutError:
                cap = self.trainer.time_cap_s
                message = (
                    f"Stopped at epoch {epoch}: a live run may take at most {cap:g} s (setting "
                    "LAYERWALK_TRAIN_TIME_S). Train fewer epochs."
                )
                yield sse("stopped", {"epoch": epoch, "message": message})
                return
            except (ValueError, OSError) as error:  # a line over LINE_LIMIT, or not JSON: the process is broken
                log.error("live training sent what is not an event: %s", error)
                break
            if event is None:
                break
            last, epoch = event["event"], event["data"].get("epoch", epoch)
            yield sse(last, event["data"])
            if last in ENDS:
                return
        await self._failed(epoch)
        yield sse("failed", {"epoch": epoch, "message": FAILED})

    async def _failed(self, epoch: int) -> None:
        said = ""
        if self.said is not None:
            with contextlib.suppress(TimeoutError):
                said = await asyncio.wait_for(asyncio.shield(self.said), timeout=2)
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


async def _tail(stream: asyncio.StreamReader) -> str:
    """What a process writes on `stream`, read as it comes, its last SAID characters kept."""
    kept = b""
    while chunk := await stream.read(2**16):
        kept = (kept + chunk)[-4 * SAID :]
    return kept.decode(errors="replace")[-SAID:]


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
