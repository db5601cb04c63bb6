"""This process's followers of each class, and the events on their way to them.

Each page that follows a class has a Mailbox. An event replaces the one of the same name not yet sent (a view, a
poll's counts and the number following are states: only the newest matters), so a page that stops reading holds
at most one event of each name, never a queue, and an event is handed over without waiting for any page: a
stalled student never delays the others, and memory stays bounded however long they stall.
"""

from __future__ import annotations

import asyncio
from typing import Any


class Mailbox:
    def __init__(self) -> None:
        self.pending: dict[str, dict[str, Any]] = {}
        self.ready = asyncio.Event()

    def put(self, event: str, data: dict[str, Any]) -> None:
        self.pending.pop(event, None)  # the newest of a name goes last: events keep the order they last came in
        self.pending[event] = data
        self.ready.set()

    async def take(self) -> list[tuple[str, dict[str, Any]]]:
        """Waits for events; all those pending, oldest first."""
        await self.ready.wait()
        self.ready.clear()
        events, self.pending = list(self.pending.items()), {}
        return events


class Hub:
    def __init__(self) -> None:
        self.followers: dict[str, set[Mailbox]] = {}

    def join(self, code: str) -> Mailbox:
        mailbox = Mailbox()
        self.followers.setdefault(code, set()).add(mailbox)
        return mailbox

    def leave(self, code: str, mailbox: Mailbox) -> None:
        boxes = self.followers.get(code)
        if boxes is not None:
            boxes.discard(mailbox)
            if not boxes:
                del self.followers[code]

    def count(self, code: str) -> int:
        return len(self.followers.get(code, ()))

    def deliver(self, code: str, event: str, data: dict[str, Any]) -> None:
        for mailbox in self.followers.get(code, ()):
            mailbox.put(event, data)

    def everyone(self, event: str, data: dict[str, Any]) -> None:
        """An event for every page this process streams to (the store went away, or came back)."""
        for boxes in self.followers.values():
            for mailbox in boxes:
                mailbox.put(event, data)
