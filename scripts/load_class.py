"""`make load`, its class: 300 students following one lecturer through a whole walk with two polls.

The lecturer starts a class, then walks the GPT page (tiny-gpt) stage by stage, one key press every 300 ms: each
press is a PUT of the page's URL for that stage. At the first stage that shows a head's attention pattern it asks
an attention poll, at the next-word stage a next-word poll; every student answers within about a second (a random
voter id each), then the lecturer reveals the model's answer. The students are event streams read by one asyncio
process on loopback (raw HTTP/1.1, `event:`/`data:` frames); a few more are STALLED: they open the stream with a
tiny receive buffer and never read, so the server cannot hand them anything after their buffers fill.

Measured, per key press: from sending the PUT to each student's `view` event with that press's seq (or a later
one); the time by which 99 % of the students were updated; over the presses its median and worst, and the p50 and
p99 of every student's every update. The same walk with ONE follower is the baseline, and the class's figure is
given as a ratio to it too. Per poll: the answers the server counted, per choice, equal to those sent (exactly),
and the reveal: from the request to 99 % of the students holding the revealed poll with those counts.
Memory: each server's VmRSS after a warm-up class of the same size (before) and once the measured class ended
(after). All that first on one server process (sessions in its memory), then on two replicas sharing a real
redis-server on a free loopback port (LAYERWALK_REDIS_URL): the lecturer on replica A, the students alternately
on A and B.

Errors: a non-2xx answer, a stream that ends before the class does, a student never updated, a count that is not
the number sent. Exit status 1 on any error, or when a server's memory grew by 10 % or more.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from loopback import (
    HOST,
    ClosedBeforeAnswerError,
    Connection,
    Response,
    Server,
    free_port,
    get,
    percentile,
    serve,
    serve_with,
)

MODEL = "tiny-gpt"
TEXT = "the dog chased the cat"  # 5 words: the attention poll asks about the 4th ("the")
PRESS_S = 0.3  # the lecturer's pace: one key press every 300 ms
ANSWER_S = 1.0  # students answer a poll within this time of seeing it
AIM_MS = 500.0  # issue 18: key press to 99 % of the students updated, on loopback
MAX_GROWTH = 0.10
TIMEOUT_S = 15.0  # a request, a stream's first bytes, an update: slower is an error
FOLLOWING_S = 3.0  # the number following is told within this time of the last page connecting (0.3 s, normally)
STALL_RCVBUF = 1024  # bytes: the kernel's least (it doubles it); a stalled student's window closes at once


def request(method: str, path: str, body: object = None, secret: str | None = None) -> bytes:
    payload = b"" if body is None else json.dumps(body).encode()
    head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: {len(payload)}\r\n"
    if body is not None:
        head += "Content-Type: application/json\r\n"
    if secret is not None:
        head += f"X-Class-Secret: {secret}\r\n"
    return head.encode() + b"\r\n" + payload


@dataclass
class Errors:
    reasons: Counter[str] = field(default_factory=Counter)

    def add(self, reason: str) -> None:
        self.reasons[reason] += 1

    def total(self) -> int:
        return self.reasons.total()


class Client:
    """A keep-alive connection whose answers must be 2xx JSON (or 204); anything else is counted as an error."""

    def __init__(self, port: int, errors: Errors) -> None:
        self.connection = Connection(port)
        self.errors = errors

    async def send(self, what: str, raw: bytes) -> Any:
        try:
            response: Response = await asyncio.wait_for(self.connection.request(raw), TIMEOUT_S)
        except (OSError, EOFError, TimeoutError, ValueError, IndexError, ClosedBeforeAnswerError) as error:
            self.errors.add(f"{what}: {type(error).__name__}")
            return None
        if not 200 <= response.status < 300:
            self.errors.add(f"{what}: {response.status} {response.body[:120]!r}")
            return None
        return json.loads(response.body) if response.body else {}

    def close(self) -> None:
        self.connection.close()


class Follower:
    """A student's page: the class's event stream, read as it arrives; when each view and poll came."""

    def __init__(self, port: int, code: str) -> None:
        self.port, self.code = port, code
        self.views: list[tuple[int, float]] = []  # (seq, when it arrived)
        self.polls: list[tuple[dict[str, Any], float]] = []
        self.following = 0  # the class's pages, as the last `following` event said
        self.connected = asyncio.Event()
        self.ended = False
        self.error: str | None = None

    async def follow(self) -> None:
        try:
            await self._follow()
        except (OSError, EOFError, ValueError, asyncio.IncompleteReadError) as error:
            self.error = f"stream: {type(error).__name__} {error}"
        if not self.ended and self.error is None:
            self.error = "stream: ended before the class did"
        self.connected.set()  # whoever waits for it learns of the error

    async def _follow(self) -> None:
        reader, writer = await asyncio.open_connection(HOST, self.port)
        try:
            writer.write(get(f"/api/class/{self.code}/events"))
            status = await asyncio.wait_for(reader.readline(), TIMEOUT_S)
            if b" 200 " not in status:
                self.error = f"stream: {status.decode().strip()}"
                return
            chunked = False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                chunked |= name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower()
            text = ""
            while True:
                if chunked:
                    size = int((await reader.readline()).split(b";")[0], 16)
                    if not size:
                        return
                    data = await reader.readexactly(size)
                    await reader.readexactly(2)
                else:
                    data = await reader.read(65536)
                    if not data:
                        return
                arrived = time.perf_counter()
                text += data.decode()
                while "\n\n" in text:
                    frame, text = text.split("\n\n", 1)
                    self._event(frame, arrived)
                    if self.ended:
                        return
        finally:
            writer.close()

    def _event(self, frame: str, arrived: float) -> None:
        name, data = "", ""
        for line in frame.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()
        if not name:  # a `: ping` comment
            return
        payload = json.loads(data)
        if name == "view":
            self.views.append((int(payload["seq"]), arrived))
            self.connected.set()
        elif name == "poll":
            self.polls.append((payload, arrived))
        elif name == "following":
            self.following = int(payload["following"])
        elif name == "ended":
            self.ended = True

    def updated(self, seq: int) -> float | None:
        """When this page first had the view numbered `seq` or a later one."""
        return next((t for s, t in self.views if s >= seq), None)

    def revealed(self, poll_id: str) -> tuple[dict[str, Any], float] | None:
        return next(((p, t) for p, t in self.polls if p["id"] == poll_id and p["revealed"]), None)


async def settle(done: Callable[[], bool], within_s: float = TIMEOUT_S) -> None:
    """Waits until `done()` holds, at most `within_s` seconds (whoever asked then finds out what did not happen)."""
    for _ in range(int(within_s / 0.02)):
        if done():
            return
        await asyncio.sleep(0.02)


def stall(port: int, code: str) -> socket.socket:
    """A student whose page stopped reading: the stream is asked for, and nothing of it is ever read."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STALL_RCVBUF)
    s.connect((HOST, port))
    s.sendall(get(f"/api/class/{code}/events"))
    return s


@dataclass
class PollFigures:
    kind: str
    sent: int
    counts_ok: bool  # the server's counts per choice (its state, the reveal's answer, every page's) == those sent
    reveal_ms: float  # from the reveal's request to 99 % of the pages holding the revealed poll


@dataclass
class Walk:
    """One class's figures."""

    followers: int
    stalled: int
    press_ms: list[list[float]] = field(default_factory=list)  # per press: every student's time to be updated
    polls: list[PollFigures] = field(default_factory=list)
    notes: set[str] = field(default_factory=set)  # what the server says that is not as docs/api.md says

    def per_press_p99(self) -> list[float]:
        return [percentile(ms, 99) for ms in self.press_ms]

    def every(self) -> list[float]:
        return [m for ms in self.press_ms for m in ms]


def stages(detail: dict[str, Any]) -> tuple[int, str, int]:
    """The walk's length, the first stage showing a head's attention pattern (and its hook), the next-word stage."""
    walk = detail["stages"]
    attention = next(
        (i, h["hook"]) for i, s in enumerate(walk) for h in s["hooks"] if h["hook"].endswith("attn.hook_pattern")
    )
    next_word = next(i for i, s in enumerate(walk) if s["label"] == "next word")
    if next_word != len(walk) - 1:
        raise SystemExit(f"load_class: {MODEL}'s walk no longer ends with its next word")
    return len(walk), attention[1], attention[0]


def view(stage: int) -> str:
    return f"/models/{MODEL}?" + urlencode({"text": TEXT, "stage": stage})


async def poll(lecturer: Client, followers: list[Follower], code: str, secret: str, body: dict[str, Any],
               rng: random.Random, errors: Errors) -> PollFigures:  # fmt: skip
    """The lecturer asks, every student answers within ANSWER_S, the lecturer reveals."""
    asked = await lecturer.send(f"{body['kind']} poll", request("POST", f"/api/class/{code}/polls", body, secret))
    if asked is None:
        return PollFigures(body["kind"], 0, False, 0.0)
    poll_id, n = asked["id"], len(asked["choices"])
    sent = [0] * n

    async def answer(follower: Follower) -> None:
        await asyncio.sleep(rng.uniform(0, ANSWER_S))
        choice = rng.randrange(n)
        voter = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=24))
        client = Client(follower.port, errors)
        try:
            raw = request("POST", f"/api/class/{code}/polls/{poll_id}/answers", {"choice": choice, "voter": voter})
            if await client.send("answer", raw) is not None:
                sent[choice] += 1
        finally:
            client.close()

    await asyncio.gather(*(answer(f) for f in followers))
    state = await lecturer.send("class state", get(f"/api/class/{code}"))
    reveal_sent = time.perf_counter()
    revealed = await lecturer.send("reveal", request("POST", f"/api/class/{code}/polls/{poll_id}/reveal", None, secret))
    counts_ok = (
        state is not None and revealed is not None and state["poll"]["counts"] == sent == revealed["counts"]
        and state["poll"]["answers"] == len(followers) == revealed["answers"]
    )  # fmt: skip
    if not counts_ok:
        errors.add(f"{body['kind']} poll: counted {state and state['poll']['counts']}, sent {sent}")
    await settle(lambda: all(f.revealed(poll_id) or f.error for f in followers))
    delays = []
    for follower in followers:
        seen = follower.revealed(poll_id)
        if follower.error is not None:  # counted once, when its class ends
            continue
        if seen is None:
            errors.add(f"{body['kind']} poll: a page never had the revealed poll")
            continue
        delays.append((seen[1] - reveal_sent) * 1000)
        if seen[0]["counts"] != sent:
            counts_ok = False
            errors.add(f"{body['kind']} poll: a page was shown {seen[0]['counts']}, sent {sent}")
    return PollFigures(body["kind"], sum(sent), counts_ok, percentile(delays, 99))


async def walk(ports: list[int], n_followers: int, n_stalled: int, detail: dict[str, Any], errors: Errors,
               seed: int) -> Walk:  # fmt: skip
    """A class: the lecturer on ports[0], its students spread over `ports`, a whole walk with two polls."""
    rng = random.Random(seed)
    figures = Walk(n_followers, n_stalled)
    lecturer = Client(ports[0], errors)
    length, hook, attention_stage = stages(detail)
    started = await lecturer.send("start", request("POST", "/api/class", {"view": view(0)}))
    if started is None:
        lecturer.close()
        return figures
    code, secret = started["code"], started["secret"]
    followers = [Follower(ports[i % len(ports)], code) for i in range(n_followers)]
    tasks = [asyncio.create_task(f.follow()) for f in followers]
    stalled: list[socket.socket] = []
    try:
        stalled = [stall(ports[i % len(ports)], code) for i in range(n_stalled)]
        try:
            await asyncio.wait_for(asyncio.gather(*(f.connected.wait() for f in followers)), TIMEOUT_S)
        except TimeoutError:
            errors.add("a stream did not open in time")
        everyone = n_followers + n_stalled  # the stalled ones, too, are being streamed to
        await settle(lambda: all(f.following == everyone or f.error for f in followers), FOLLOWING_S)
        if not all(f.following == everyone for f in followers):  # docs/api.md: the class's pages, every process's
            told = ", ".join(f"{n} pages {count}" for count, n in Counter(f.following for f in followers).items())
            figures.notes.add(f"the `following` events told {told}, not {everyone}")
        state = await lecturer.send("class state", get(f"/api/class/{code}"))
        if state is not None and state["following"] != everyone:
            figures.notes.add(f"GET /api/class/CODE on the lecturer's server says following {state['following']}, "
                              f"not {everyone}")  # fmt: skip
        forward = {"input": TEXT}
        presses: list[tuple[int, float]] = []
        for stage in range(length):
            pressed = time.perf_counter()
            answer = await lecturer.send(
                "view", request("PUT", f"/api/class/{code}/view", {"view": view(stage)}, secret)
            )
            if answer is not None:
                presses.append((answer["seq"], pressed))
            body: dict[str, Any] | None = None
            if stage == attention_stage:
                body = {"kind": "attention", "model": MODEL, "request": forward, "hook": hook, "head": 1, "query": 3}
            elif stage == length - 1:
                body = {"kind": "next_word", "model": MODEL, "request": forward, "choices": 4}
            if body is not None:
                await asyncio.sleep(PRESS_S)  # the view reaches the pages before the question does
                figures.polls.append(await poll(lecturer, followers, code, secret, body, rng, errors))
            await asyncio.sleep(max(0.0, pressed + PRESS_S - time.perf_counter()))
        last = presses[-1][0] if presses else 0
        await settle(lambda: all(f.updated(last) or f.error for f in followers))
        for seq, pressed in presses:
            ms = []
            for follower in followers:
                updated = follower.updated(seq)
                if follower.error is not None:  # counted once, below
                    continue
                if updated is None:
                    errors.add("a page was never updated")
                else:
                    ms.append((updated - pressed) * 1000)
            figures.press_ms.append(ms)
        await lecturer.send("end", request("DELETE", f"/api/class/{code}", None, secret))
        _, late = await asyncio.wait(tasks, timeout=TIMEOUT_S)
        for _ in late:
            errors.add("a stream did not end with the class")
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for s in stalled:
            s.close()
        lecturer.close()
    for follower in followers:
        if follower.error is not None:
            errors.add(follower.error)
    return figures


@dataclass
class Setup:
    name: str
    servers: list[Server]
    baseline: Walk
    walk: Walk
    memory: list[tuple[int, int, int, int]]  # per server: just started, before, after, largest seen (KiB)
    errors: Errors
    load_average: tuple[float, float]
    redis_kib: int | None = None


async def measure(name: str, servers: list[Server], detail: dict[str, Any], args: argparse.Namespace) -> Setup:
    """A warm-up class, then the baseline (one follower), then the measured class with its stalled students."""
    errors, ports = Errors(), [s.port for s in servers]
    started = [s.memory_kib() for s in servers]
    load_before = os.getloadavg()[0]
    await walk(ports, args.students, args.stalled, detail, errors, args.seed - 1)  # warm-up: figures not kept
    before = [s.memory_kib() for s in servers]
    peaks = list(before)

    async def sample() -> None:
        while True:
            await asyncio.sleep(0.5)
            for i, server in enumerate(servers):
                peaks[i] = max(peaks[i], server.memory_kib())

    sampler = asyncio.create_task(sample())
    try:
        baseline = await walk(ports[-1:], 1, 0, detail, errors, args.seed)
        measured = await walk(ports, args.students, args.stalled, detail, errors, args.seed + 1)
    finally:
        sampler.cancel()
    after = [s.memory_kib() for s in servers]
    memory = [(s, b, a, max(p, a)) for s, b, a, p in zip(started, before, after, peaks, strict=True)]
    return Setup(name, servers, baseline, measured, memory, errors, (load_before, os.getloadavg()[0]))


def redis_command() -> str:
    found = os.environ.get("LAYERWALK_REDIS_SERVER") or shutil.which("redis-server")
    if not found:
        raise SystemExit(
            "load_class: no redis-server; install it (Debian: apt-get install redis-server; `make setup` runs "
            "scripts/ensure-services) or set LAYERWALK_REDIS_SERVER"
        )
    return found


@contextmanager
def redis(name: str) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A throwaway redis-server on a free loopback port, keeping nothing on disk; stopped when the block ends."""
    port = free_port()
    command = [redis_command(), "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, cwd="/tmp")
    try:
        deadline = time.perf_counter() + 10
        while True:
            try:
                with socket.create_connection((HOST, port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.perf_counter() > deadline:
                raise SystemExit(f"{name}: redis-server did not start")
            time.sleep(0.05)
        yield port, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def report(setups: list[Setup], args: argparse.Namespace) -> bool:
    ok, aim_met = True, True
    print(
        f"\nA class on loopback: {args.students} students (+{args.stalled} stalled: never read) follow a lecturer "
        f"through the {MODEL} walk, one key press every {PRESS_S * 1000:.0f} ms, two polls; the baseline is the same "
        f"walk with one follower. Milliseconds from the key press to the students' view event.\n"
    )
    print("| setup | followers | presses | 99 % updated: median | worst | all p50 | all p99 | max | × baseline |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for setup in setups:
        base = percentile(setup.baseline.per_press_p99(), 50) or 1.0
        for walked, label in (
            (setup.baseline, "1"),
            (setup.walk, f"{setup.walk.followers} + {setup.walk.stalled} stalled"),
        ):
            p99s, every = walked.per_press_p99(), walked.every()
            median = percentile(p99s, 50)
            print(
                f"| {setup.name} | {label} | {len(p99s)} | {median:.1f} | {max(p99s, default=0):.1f} "
                f"| {percentile(every, 50):.1f} | {percentile(every, 99):.1f} | {max(every, default=0):.1f} "
                f"| {median / base:.2f} |"
            )
        aim_met &= max(setup.walk.per_press_p99(), default=float("inf")) <= AIM_MS
    print("\n| setup | poll | answers sent | counts equal those sent | reveal → 99 % of pages, ms |")
    print("| --- | --- | ---: | --- | ---: |")
    for setup in setups:
        for figures in setup.walk.polls:
            print(
                f"| {setup.name} | {figures.kind} | {figures.sent} | {'yes' if figures.counts_ok else 'NO'} "
                f"| {figures.reveal_ms:.1f} |"
            )
    print("\n| setup | server | just started MiB | before MiB | after MiB | largest MiB | growth |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for setup in setups:
        for i, (started, before, after, peak) in enumerate(setup.memory):
            growth = (after - before) / before
            ok &= growth < MAX_GROWTH
            print(
                f"| {setup.name} | {'AB'[i] if len(setup.memory) > 1 else 'the one'} | {started / 1024:.1f} "
                f"| {before / 1024:.1f} | {after / 1024:.1f} | {peak / 1024:.1f} | {growth * 100:+.1f} % |"
            )
        if setup.redis_kib is not None:
            print(f"| {setup.name} | redis-server | | | {setup.redis_kib / 1024:.1f} | | |")
    print()
    for setup in setups:
        errors = setup.errors.total()
        ok &= not errors
        print(
            f"{setup.name}: {errors} errors; load average {setup.load_average[0]:.1f} before, "
            f"{setup.load_average[1]:.1f} after ({os.cpu_count()} cores, shared with other work)"
        )
        for note in sorted(setup.walk.notes | setup.baseline.notes):
            print(f"  note: {note}")
        if errors:
            print("  errors:", ", ".join(f"{reason} × {n}" for reason, n in setup.errors.reasons.most_common()))
    worst = max((max(s.walk.per_press_p99(), default=0.0) for s in setups), default=0.0)
    print(
        f"\nAim: every key press reaches 99 % of the students within {AIM_MS:.0f} ms: "
        f"{'met' if aim_met else 'MISSED'} (worst press {worst:.1f} ms)"
    )
    print(f"errors 0 and memory growth < {MAX_GROWTH * 100:.0f} % on every server: {'pass' if ok else 'FAIL'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300, help="students following the lecturer")
    parser.add_argument("--stalled", type=int, default=5, help="students whose pages never read their stream")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--only", choices=["one", "replicas"], help="run one setup, not both")
    args = parser.parse_args()

    setups = []
    if args.only != "replicas":
        with serve("load_class") as server:
            detail = asyncio.run(get_detail(server.port))
            setups.append(asyncio.run(measure("one process", [server], detail, args)))
    if args.only != "one":
        with ExitStack() as stack:
            port, process = stack.enter_context(redis("load_class"))
            env = {"LAYERWALK_REDIS_URL": f"redis://{HOST}:{port}/0"}
            servers = [stack.enter_context(serve_with("load_class", env)) for _ in range(2)]
            detail = asyncio.run(get_detail(servers[0].port))
            setup = asyncio.run(measure("two replicas + Redis", servers, detail, args))
            setup.redis_kib = rss_kib(process.pid)
            setups.append(setup)
    return 0 if report(setups, args) else 1


async def get_detail(port: int) -> dict[str, Any]:
    client = Client(port, Errors())
    try:
        detail: dict[str, Any] = await client.send("detail", get(f"/api/models/{MODEL}"))
    finally:
        client.close()
    if detail is None:
        raise SystemExit(f"load_class: GET /api/models/{MODEL} failed")
    return detail


if __name__ == "__main__":
    raise SystemExit(main())
