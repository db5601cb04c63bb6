"""Where class sessions live: the Board protocol and the board in this process's memory.

A session is a join code, the hash of the lecturer's secret, the lecturer's view (a path and query string on this
site, numbered by `seq`) and the current poll. Nothing about a student is kept: an answer keeps only a hash of the
random id the student's browser made, to refuse a second answer to the same poll. A session expires after
`idle_s` seconds without an action of the lecturer's.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, Protocol

from app.classroom.hub import Hub

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read off a projector and typed on a phone
CODE_LENGTH = 6  # 31⁶ ≈ 887 million codes; with join attempts rate-limited they cannot be enumerated


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def digest(value: str) -> str:
    """What is stored of a secret or a voter id: its SHA-256, never the value."""
    return hashlib.sha256(value.encode()).hexdigest()


# What became of an answer: counted; this browser had answered; the poll is no longer the current one (the lecturer
# asked another); the poll is closed (revealed).
Answered = Literal["counted", "again", "replaced", "closed"]


class StoreDownError(Exception):
    """The shared store (Redis) cannot be reached; the message says where and that it is retried."""


@dataclass(frozen=True)
class Poll:
    """A poll's question and the model's answer to it (`model_probs`, `distribution`: shown once revealed)."""

    id: str
    kind: str
    question: str
    model: str
    choices: list[str]
    model_probs: list[float]
    distribution: dict[str, Any]
    revealed: bool = False

    def record(self) -> dict[str, Any]:
        return asdict(self)

    def public(self, counts: list[int]) -> dict[str, Any]:
        """The poll as pages see it: the model's numbers only once revealed."""
        shown = self.record()
        if not self.revealed:
            shown["model_probs"] = shown["distribution"] = None
        return {**shown, "counts": counts, "answers": sum(counts), "open": not self.revealed}


@dataclass
class Session:
    code: str
    secret_hash: str
    view: str | None = None
    seq: int = 0
    poll: Poll | None = None
    counts: list[int] = field(default_factory=list)

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        """The session's state as the events a page that has just connected needs: the view, the poll."""
        events: list[tuple[str, dict[str, Any]]] = []
        if self.view is not None:
            events.append(("view", {"view": self.view, "seq": self.seq}))
        if self.poll is not None:
            events.append(("poll", self.poll.public(self.counts)))
        return events


class Board(Protocol):
    """The sessions, wherever they live. Every method may raise StoreDownError."""

    idle_s: float

    async def start(self) -> None:
        """Begins handing published events to this process's pages (its hub)."""

    async def close(self) -> None: ...

    async def create(self, secret_hash: str, view: str | None) -> str | None:
        """A new session under a fresh code; None when a fresh code could not be found (the board is full)."""

    async def session(self, code: str) -> Session | None: ...

    async def set_view(self, code: str, view: str) -> int:
        """The lecturer's new view; its seq. Keeps the session alive."""

    async def end(self, code: str) -> None: ...

    async def put_poll(self, code: str, poll: Poll) -> None:
        """The session's poll, its counts at 0 (any earlier poll is gone). Keeps the session alive."""

    async def answer(self, code: str, poll_id: str, choice: int, voter_hash: str) -> Answered:
        """Counts one answer if `poll_id` is still the class's open poll and this voter has not answered it, as one
        step: an answer racing a new poll or the reveal is never counted towards either."""

    async def reveal(self, code: str, poll_id: str) -> bool:
        """Closes the poll and shows the model's answer; False if `poll_id` is no longer the current poll."""

    async def publish(self, code: str, event: str, data: dict[str, Any]) -> None:
        """Hands an event to every process's pages following `code`."""

    async def tried(self, client: str, window_s: float, *, failed: bool) -> int:
        """The failed attempts of `client` (a hash of its address) in this window, counting one more if `failed`."""

    async def following(self, code: str, here: int | None) -> tuple[int, int]:
        """Records how many pages follow `code` in this process (None: reads only); the number in all processes, and
        a version that grows with each call, so a total read later is never overtaken by one read before it."""


class MemoryBoard:
    """Sessions in this process's memory: one server process (uvicorn --workers 1), no setting needed."""

    def __init__(self, hub: Hub, idle_s: float, max_sessions: int) -> None:
        self.hub = hub
        self.idle_s = idle_s
        self.max_sessions = max_sessions
        self.sessions: dict[str, tuple[Session, float]] = {}  # code → (session, when the lecturer last acted)
        self.voters: dict[tuple[str, str], set[str]] = {}  # (code, poll id) → hashes of the voters' ids
        self.attempts: dict[str, tuple[float, int]] = {}  # client → (window start, failed attempts)
        self.counted = 0  # versions of the `following` totals

    async def start(self) -> None:
        pass  # events go straight to the hub

    async def close(self) -> None:
        pass

    def _expire(self) -> None:
        now = time.monotonic()
        for code in [c for c, (_, last) in self.sessions.items() if now - last > self.idle_s]:
            self._drop(code)

    def _drop(self, code: str) -> None:
        self.sessions.pop(code, None)
        for key in [k for k in self.voters if k[0] == code]:
            del self.voters[key]

    def _live(self, code: str) -> Session:
        self._expire()
        return self.sessions[code][0]

    def _touch(self, code: str) -> Session:
        session = self._live(code)
        self.sessions[code] = (session, time.monotonic())
        return session

    async def create(self, secret_hash: str, view: str | None) -> str | None:
        self._expire()
        if len(self.sessions) >= self.max_sessions:
            return None
        code = new_code()
        while code in self.sessions:
            code = new_code()
        self.sessions[code] = (Session(code, secret_hash, view, 1 if view else 0), time.monotonic())
        return code

    async def session(self, code: str) -> Session | None:
        self._expire()
        found = self.sessions.get(code)
        return None if found is None else replace(found[0], counts=list(found[0].counts))

    async def set_view(self, code: str, view: str) -> int:
        session = self._touch(code)
        session.view, session.seq = view, session.seq + 1
        return session.seq

    async def end(self, code: str) -> None:
        self._drop(code)

    async def put_poll(self, code: str, poll: Poll) -> None:
        session = self._touch(code)
        if session.poll is not None:
            self.voters.pop((code, session.poll.id), None)
        session.poll, session.counts = poll, [0] * len(poll.choices)

    async def answer(self, code: str, poll_id: str, choice: int, voter_hash: str) -> Answered:
        session = self._live(code)
        if session.poll is None or session.poll.id != poll_id:
            return "replaced"
        if session.poll.revealed:
            return "closed"
        voters = self.voters.setdefault((code, poll_id), set())
        if voter_hash in voters:
            return "again"
        voters.add(voter_hash)
        session.counts[choice] += 1
        return "counted"

    async def reveal(self, code: str, poll_id: str) -> bool:
        session = self._touch(code)
        if session.poll is None or session.poll.id != poll_id:
            return False
        session.poll = replace(session.poll, revealed=True)
        return True

    async def publish(self, code: str, event: str, data: dict[str, Any]) -> None:
        self.hub.deliver(code, event, data)

    async def tried(self, client: str, window_s: float, *, failed: bool) -> int:
        now = time.monotonic()
        start, count = self.attempts.get(client, (now, 0))
        if now - start > window_s:
            start, count = now, 0
        if failed:
            count += 1
            self.attempts[client] = (start, count)
            if len(self.attempts) > 10_000:  # bounded: windows long past are forgotten
                self.attempts = {c: a for c, a in self.attempts.items() if now - a[0] <= window_s}
        return count

    async def following(self, code: str, here: int | None) -> tuple[int, int]:
        self.counted += 1
        return self.hub.count(code), self.counted
