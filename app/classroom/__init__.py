"""Class sessions: a lecturer's view followed live by the class's pages, with prediction polls.

`board.py` keeps the sessions (in this process's memory, or `redis.py`: in Redis, shared by replicas), `hub.py`
hands each change to the pages this process streams it to, `polls.py` asks the model the polls' questions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import AsyncIterator
from types import FrameType

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
        self.hub = Hub()
        self.board: Board = (
            RedisBoard(self.hub, settings.redis_url, settings.class_idle_s)
            if settings.redis_url
            else MemoryBoard(self.hub, settings.class_idle_s, settings.class_max_sessions)
        )
        self.counting: dict[str, asyncio.Task[None]] = {}  # classes whose number following is about to be told

    async def start(self) -> None:
        await self.board.start()

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


def _closing_streams_on_exit(hub: Hub) -> None:
    """When the server is told to stop, its class streams end at once (a page reconnects, to another replica if
    there is one). The server waits for every response to end before it stops, and these never end by themselves.
    The handler the server installed still runs after ours."""
    if threading.current_thread() is not threading.main_thread():
        return  # signals reach the main thread only: a server run in a thread is stopped by its owner
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(signum)

        def handler(number: int, frame: FrameType | None, previous: object = previous) -> None:
            loop.call_soon_threadsafe(hub.everyone, "closing", {})
            if callable(previous):
                previous(number, frame)

        signal.signal(signum, handler)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The classroom listens for its store's events while the app serves."""
    classroom: Classroom = app.state.classroom
    await classroom.start()
    _closing_streams_on_exit(classroom.hub)
    try:
        yield
    finally:
        await classroom.close()
