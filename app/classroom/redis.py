"""Class sessions in Redis, shared by every replica (LAYERWALK_REDIS_URL).

Keys (all expire `idle_s` after the lecturer's last action; answers give a poll's keys the same time to live):
  lw:class:{code}                   hash: secret (its hash), view, seq, poll (the poll's record as JSON), poll_id,
                                    revealed ("1" once the model's answer is shown)
  lw:class:{code}:counts            hash: choice index → answers
  lw:class:{code}:voters:{poll}     set: hashes of the ids of the browsers that answered
  lw:class:{code}:following         hash: process → pages it streams the class to
  lw:tries:{client}                 the failed join attempts of one address in the current window
Events go out on one channel, `lw:class:events` ({code, event, data}); each process listens and hands them to its
own pages (hub.py). When Redis goes away every page is told, the listener retries, and once Redis is back every
page gets the class's state again (or `ended`, if Redis lost it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Any, cast
from urllib.parse import urlsplit

from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.classroom.board import Answered, Poll, Session, StoreDownError, new_code
from app.classroom.hub import Hub

CHANNEL = "lw:class:events"
RETRY_S = (0.2, 0.5, 1.0, 2.0)  # the listener's waits between attempts to reach Redis again
DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
# An answer is counted in one step with the checks it needs (Redis runs a script whole), so one racing a new poll or
# the reveal is never counted towards either. KEYS: the class, its voters for this poll, its counts. ARGV: the poll's
# id, the voter's hash, the choice, the time to live.
ANSWER = """
if redis.call('HGET', KEYS[1], 'poll_id') ~= ARGV[1] then return 'replaced' end
if redis.call('HGET', KEYS[1], 'revealed') == '1' then return 'closed' end
if redis.call('SADD', KEYS[2], ARGV[2]) == 0 then return 'again' end
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
redis.call('EXPIRE', KEYS[3], ARGV[4])
return 'counted'
"""
REVEAL = """
if redis.call('HGET', KEYS[1], 'poll_id') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'revealed', '1')
return 1
"""
POOL = 32  # connections to Redis per process
POOL_WAIT_S = 5.0  # how long a request waits for one before the store counts as unreachable
log = logging.getLogger("layerwalk")


def _key(code: str, *parts: str) -> str:
    return ":".join(("lw:class", code, *parts))


class RedisBoard:
    def __init__(self, hub: Hub, url: str, idle_s: float) -> None:
        self.hub = hub
        self.url = url
        self.idle_s = idle_s
        self.ttl = max(1, round(idle_s))
        self.process = secrets.token_hex(8)  # this process, in the `following` hash
        # A class arriving at once is hundreds of requests: they wait their turn for one of POOL connections (a
        # plain pool refuses the one past its size at once, which a page would see as the store being down).
        # A connection left from before Redis went away fails once: the command is retried on a new one.
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=POOL, timeout=POOL_WAIT_S, socket_connect_timeout=1, socket_timeout=2,
            decode_responses=True, retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
        )  # fmt: skip

        self.client = aioredis.Redis(connection_pool=pool)
        self.answering = self.client.register_script(ANSWER)
        self.revealing = self.client.register_script(REVEAL)
        # Pub/sub waits for messages with no timeout, so it has its own connection; a health check finds a dead one.
        self.listener = aioredis.Redis.from_url(url, socket_connect_timeout=1, health_check_interval=5,
                                                decode_responses=True)  # fmt: skip
        self.task: asyncio.Task[None] | None = None
        self.up = True

    def _down(self) -> StoreDownError:
        parts = urlsplit(self.url)
        where = f"{parts.hostname}:{parts.port or 6379}{parts.path}"  # never the password
        return StoreDownError(
            f"The class store (Redis at {where}) cannot be reached; it is retried. Try again shortly."
        )

    @contextlib.asynccontextmanager
    async def _reaching(self) -> AsyncIterator[None]:
        try:
            yield
        except DOWN as error:
            log.warning("class store unreachable: %s", error)
            raise self._down() from None

    async def start(self) -> None:
        self.task = asyncio.create_task(self._listen(), name="class-events")

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        with contextlib.suppress(*DOWN):  # this process's pages are gone: they no longer count as following
            for code in list(self.hub.followers):
                await self.client.hdel(_key(code, "following"), self.process)
        await self.client.aclose()
        await self.listener.aclose()

    async def _listen(self) -> None:
        """Hands the channel's events to this process's pages, for as long as the process runs."""
        attempt = 0
        while True:
            try:
                async with self.listener.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    attempt = 0
                    if not self.up:
                        await self._recovered()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            event = json.loads(message["data"])
                            self.hub.deliver(event["code"], event["event"], event["data"])
            except (*DOWN, StoreDownError) as error:  # the listener lives as long as the process
                if self.up:
                    log.warning("class events: Redis unreachable (%s); retrying", error)
                    self.up = False
                    self.hub.everyone("status", {"ok": False, "message": str(self._down())})
                await asyncio.sleep(RETRY_S[min(attempt, len(RETRY_S) - 1)])
                attempt += 1

    async def _recovered(self) -> None:
        """Redis is back: every page hears so, then gets its class's state (events sent meanwhile were lost)."""
        self.up = True
        log.warning("class events: Redis reachable again")
        self.hub.everyone("status", {"ok": True})
        for code in list(self.hub.followers):
            session = await self.session(code)  # StoreDownError: gone again, and the listener retries
            if session is None:
                self.hub.deliver(code, "ended", {"message": "The class was lost while its store was away."})
            else:
                for event, data in session.events():
                    self.hub.deliver(code, event, data)

    def _touch(self, code: str, pipe: Any) -> None:
        for key in (_key(code), _key(code, "counts"), _key(code, "following"), _key(code, "following-version")):
            pipe.expire(key, self.ttl)

    async def create(self, secret_hash: str, view: str | None) -> str | None:
        async with self._reaching():
            for _ in range(8):
                code = new_code()
                if await self.client.hsetnx(_key(code), "secret", secret_hash):
                    async with self.client.pipeline() as pipe:
                        pipe.hset(_key(code), mapping={"view": view or "", "seq": 1 if view else 0, "poll": ""})
                        pipe.expire(_key(code), self.ttl)
                        await pipe.execute()
                    return code
            return None

    async def session(self, code: str) -> Session | None:
        async with self._reaching(), self.client.pipeline() as pipe:
            pipe.hgetall(_key(code))
            pipe.hgetall(_key(code, "counts"))
            fields, counted = await pipe.execute()
        if not fields.get("secret"):
            return None
        revealed = fields.get("revealed") == "1"
        poll = Poll(**{**json.loads(fields["poll"]), "revealed": revealed}) if fields.get("poll") else None
        counts = [int(counted.get(str(i), 0)) for i in range(len(poll.choices))] if poll else []
        view = fields.get("view") or None
        return Session(code, fields["secret"], view, int(fields.get("seq", 0)), poll, counts)

    async def set_view(self, code: str, view: str) -> int:
        async with self._reaching(), self.client.pipeline() as pipe:
            pipe.hset(_key(code), "view", view)
            pipe.hincrby(_key(code), "seq", 1)
            self._touch(code, pipe)
            results = await pipe.execute()
        return int(results[1])

    async def end(self, code: str) -> None:
        async with self._reaching():
            keys = [key async for key in self.client.scan_iter(match=_key(code, "*"), count=100)]
            await self.client.delete(_key(code), *keys)

    async def put_poll(self, code: str, poll: Poll) -> None:
        async with self._reaching(), self.client.pipeline() as pipe:
            pipe.hset(_key(code), mapping={"poll": json.dumps(poll.record()), "poll_id": poll.id, "revealed": "0"})
            pipe.delete(_key(code, "counts"))  # in the same transaction: no answer falls between the two
            self._touch(code, pipe)
            await pipe.execute()

    async def answer(self, code: str, poll_id: str, choice: int, voter_hash: str) -> Answered:
        keys = [_key(code), _key(code, "voters", poll_id), _key(code, "counts")]
        async with self._reaching():
            answered = await self.answering(keys=keys, args=[poll_id, voter_hash, choice, self.ttl])
        return cast(Answered, answered)

    async def reveal(self, code: str, poll_id: str) -> bool:
        async with self._reaching():
            shown = await self.revealing(keys=[_key(code)], args=[poll_id])
            async with self.client.pipeline() as pipe:
                self._touch(code, pipe)
                await pipe.execute()
        return bool(shown)

    async def publish(self, code: str, event: str, data: dict[str, Any]) -> None:
        async with self._reaching():
            await self.client.publish(CHANNEL, json.dumps({"code": code, "event": event, "data": data}))

    async def tried(self, client: str, window_s: float, *, failed: bool) -> int:
        key = f"lw:tries:{client}"
        async with self._reaching():
            if not failed:
                return int(await self.client.get(key) or 0)
            async with self.client.pipeline() as pipe:
                pipe.incr(key)
                pipe.expire(key, max(1, round(window_s)), nx=True)
                count, _ = await pipe.execute()
            return int(count)

    async def following(self, code: str, here: int | None) -> tuple[int, int]:
        key, version = _key(code, "following"), _key(code, "following-version")
        async with self._reaching(), self.client.pipeline() as pipe:  # one transaction: the total and its version
            if here:
                pipe.hset(key, self.process, here)
            elif here == 0:
                pipe.hdel(key, self.process)
            pipe.hvals(key)
            pipe.incr(version)
            for name in (key, version):
                pipe.expire(name, self.ttl)
            *_, counts, number, _, _ = await pipe.execute()
        return sum(int(c) for c in counts), int(number)
