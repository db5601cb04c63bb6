"""A progress bar on stderr: redrawn in place on a terminal, a line every tenth of the way otherwise (a log)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30


class Progress:
    def __init__(self, label: str, total: int, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.label, self.total, self.enabled = label, total, enabled
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.started = time.perf_counter()
        self.shown = 0  # the last tenth written, when not live

    def update(self, step: int, loss: float) -> None:
        if not self.enabled:
            return
        tenth = step * 10 // self.total
        if not self.live and tenth <= self.shown:
            return  # a log gets a line as each tenth is reached
        self.shown = tenth
        elapsed = time.perf_counter() - self.started
        left = elapsed * (self.total - step) / step
        done = WIDTH * step // self.total
        bar = "#" * done + "." * (WIDTH - done)
        line = f"{self.label} [{bar}] {step}/{self.total}  loss {loss:.4g}  {elapsed:.0f}s, {left:.0f}s left"
        self.stream.write(f"\r{line}" if self.live else f"{line}\n")
        if self.live and step == self.total:
            self.stream.write("\n")
        self.stream.flush()
