"""A class's follower for the tests: a real event stream read in a thread, its events waited for by name."""

from __future__ import annotations

import json
import queue
import threading
from typing import Any

import httpx


class Follower:
    """Reads GET /api/class/CODE/events from `server` until closed; `next(name)` waits for the next such event."""

    def __init__(self, server: str, code: str) -> None:
        self.url = f"{server}/api/class/{code}/events"
        self.events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.opened = threading.Event()
        self.status = 0
        self.closing = False
        self.response: httpx.Response | None = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        if not self.opened.wait(10):
            raise TimeoutError(f"{self.url} did not answer")

    def _read(self) -> None:
        try:
            with httpx.stream("GET", self.url, timeout=httpx.Timeout(5, read=None)) as response:
                self.response, self.status = response, response.status_code
                self.opened.set()
                name = ""
                for line in response.iter_lines():
                    if self.closing:
                        return
                    if line.startswith("event: "):
                        name = line.removeprefix("event: ")
                    elif line.startswith("data: "):
                        self.events.put((name, json.loads(line.removeprefix("data: "))))
        except (httpx.HTTPError, OSError, RuntimeError):  # closed under it, or the server went away
            self.events.put(("gone", {}))
        finally:
            self.opened.set()

    def next(self, name: str, timeout: float = 10, **having: Any) -> dict[str, Any]:
        """The next `name` event (whose data has the values `having`), skipping others; TimeoutError if none."""
        while True:
            try:
                event, data = self.events.get(timeout=timeout)
            except queue.Empty:
                raise TimeoutError(f"no {name!r} event {having or ''} within {timeout} s") from None
            if event == name and all(data.get(k) == v for k, v in having.items()):
                return data

    def close(self) -> None:
        self.closing = True
        if self.response is not None:
            self.response.close()
