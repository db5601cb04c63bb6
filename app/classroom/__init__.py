"""Class sessions: a lecturer's view followed live by the class's pages, with prediction polls.

`board.py` keeps the sessions (in this process's memory, or `redis.py`: in Redis, shared by replicas), `hub.py`
hands each change to the pages this process streams it to, `polls.py` asks the model the polls' questions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from app.classroom.board import Board, MemoryBoard, StoreDownError
from app.classroom.hub import Hub, Mailbox
from app.classroom.redis import RedisBoard
from app.config import Settings

FOLLOWING_EVERY_S = 0.3  # how often, at most, a class hears how many follow it
log = logging.getLogger("layerwalk")


class Classroom:
    """This process's part in every class: the board the sessions live on, the pages it streams to."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.board: Board = (
            RedisBoard(settings.redis_url, settings.class_idle_s)
            if settings.redis_url
            else MemoryBoard(settings.class_idle_s, settings.class_max_sessions)
        )
        self.hub = Hub()
        self.counting: dict[str, asyncio.Task[None]] = {}  # classes whose number following is about to be told

    async def start(self) -> None:
        await self.board.start(self.hub)

    async def close(self) -> None:
        for task in self.counting.values():
            task.cancel()
        await self.board.close()

    def join(self, code: str) -> Mailbox:
        mailbox = self.hub.join(code)
        self._recount(code)
        return mailbox

    def leave(self, code: str, mailbox: Mailbox) -> None:
        self.hub.leave(code, mailbox)
        self._recount(code)

    def _recount(self, code: str) -> None:
        """Tells the class how many pages follow it, a moment later: a class of 300 arriving is one message, not 300."""
        if code not in self.counting:
            self.counting[code] = asyncio.get_running_loop().create_task(self._tell_following(code))

    async def _tell_following(self, code: str) -> None:
        await asyncio.sleep(FOLLOWING_EVERY_S)
        del self.counting[code]
        with contextlib.suppress(StoreDownError):  # told again at the next change
            total = await self.board.following(code, self.hub.count(code))
            await self.board.publish(code, "following", {"following": total})


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The classroom listens for its store's events while the app serves."""
    classroom: Classroom = app.state.classroom
    await classroom.start()
    try:
        yield
    finally:
        await classroom.close()
