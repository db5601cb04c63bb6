"""`make load`: a lecture's worth of students on one server for a bounded time; no errors, flat memory.

Starts the production server (scripts/loopback.py), then simulates students from one asyncio process on loopback.
Each student opens a model page as a browser does the first time (the HTML, then the stylesheet, icon, vendored
Plotly and every ES module the page imports, then the model's detail and captions), then moves its controls: the
x slider, the temperature slider, top-k, top-p, the word, the prompt, generate, translate. Between moves it thinks
for 50-300 ms. Students are spread over every model the server lists; now and then one follows the lecture to the
next model's page (fetching only what its browser has not cached yet). Everything random is seeded.

Reported: requests, errors (any non-2xx answer, timeout or connection error), throughput, latency overall and per
kind of request, and the server's resident memory (VmRSS): just started, after a warm-up (one request of each
kind on each model, then the same lecture for --warmup seconds), and after the measured load. The warm-up lecture
lets what a busy server allocates once (buffers for 200 connections, the allocator's arenas, the bounded cache of
forward passes) be in place before the "before" figure, so the growth measured is what keeps growing: a leak.
Exit status 1 when a request failed (warm-up included) or memory grew by 10 % or more.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import html
import json
import os
import random
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from loopback import HOST, Connection, Response, Server, get, get_json, percentile, post_json, serve

THINK_S = (0.05, 0.3)
CONNECTIONS = 3  # a browser opens several connections per host; the text-net page sends three requests at once
MAX_GROWTH = 0.10
STAY_S = (15.0, 45.0)  # how long a student stays on a page before the lecture moves on

ASSET = re.compile(r"<(?:script|link|img)\b[^>]*?\b(?:src|href)=\"([^\"]+)\"[^>]*>")  # group 0: the tag
DATA_URL = re.compile(r"\bdata-(detail|captions|forward|generate|compare)-url=\"([^\"]+)\"")
IMPORT = re.compile(
    r"""(?:\bimport|\bexport)\s*(?:[\w*{}\s,]+?\s*from\s*)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']"""
)

# What students type: the examples each page offers, and prefixes of them.
GPT_TEXTS = [
    "the dogs that chased the cat",
    "the queen met the king and",
    "the dog chased the cat . who was chased ? the",
    "the boy took the money , reached the bank and saw the",
    "dog bites man .",
]
SOURCES = [
    "the black cat sleeps .",
    "a small car sees the green flowers .",
    "the white houses fall .",
    "the red birds see a black dog .",
]
TARGETS = ["le chat noir dort .", "une petite voiture voit les fleurs vertes .", "les maisons blanches tombent ."]
SENTENCES = [  # an encoder's page (MiniLM): any English sentence, and two to compare
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A cheetah chases its prey across a field.",
]


@dataclass
class Model:
    id: str
    family: str
    page: str
    vocab: list[str]  # the input words (text models)
    outputs: int  # the output vocabulary's size: the largest top-k
    n_ctx: int

    @property
    def characters(self) -> bool:
        """A character model: its context counts characters, not words."""
        return bool(self.vocab) and all(len(token) == 1 for token in self.vocab)


@dataclass
class Stats:
    requests: Counter[str] = field(default_factory=Counter)  # by kind, failed ones included
    latencies_ms: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # answered ones
    failures: Counter[str] = field(default_factory=Counter)  # by kind
    reasons: Counter[str] = field(default_factory=Counter)  # "kind: status or exception" → count
    elapsed_s: float = 0.0
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    load_average: tuple[float, float] = (0.0, 0.0)  # the machine's 1-minute load average before and after
    resent: int = 0  # requests sent again because the server had closed an idle keep-alive connection

    def fail(self, kind: str, reason: str) -> None:
        self.failures[kind] += 1
        self.reasons[f"{kind}: {reason}"] += 1


def local(url: str, base: str = "/") -> str | None:
    """The path (and query) of a URL on our server, as found in a page or a script; None for another host's."""
    parts = urlsplit(urljoin(base, html.unescape(url)))
    if parts.scheme not in ("", "http") or parts.hostname not in (None, HOST, "localhost"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


class Student:
    """One browser: a few keep-alive connections, a cache of what it fetched, the state of the page's controls."""

    def __init__(self, port: int, rng: random.Random, stats: Stats | None, timeout: float) -> None:
        self.connections = [Connection(port) for _ in range(CONNECTIONS)]
        self.rng, self.stats, self.timeout = rng, stats, timeout
        self.cached: set[str] = set()
        self.x, self.slider, self.seed = rng.uniform(0, 10), rng.randrange(101), 0
        self.text = ""

    async def send(self, kind: str, raw: bytes, connection: int = 0) -> Response | None:
        started = time.perf_counter()
        if self.stats is not None:
            self.stats.requests[kind] += 1
        try:
            response = await asyncio.wait_for(self.connections[connection].request(raw), self.timeout)
        except (OSError, EOFError, TimeoutError, ValueError, IndexError) as error:
            if self.stats is not None:
                self.stats.fail(kind, type(error).__name__)
            return None
        if self.stats is not None:
            self.stats.latencies_ms[kind].append((time.perf_counter() - started) * 1000)
            if not 200 <= response.status < 300:
                self.stats.fail(kind, str(response.status))
        return response if 200 <= response.status < 300 else None

    async def fetch_all(self, requests: list[tuple[str, bytes]]) -> None:
        """Requests sent at once, as a browser does, one per connection."""
        await asyncio.gather(*(self.send(kind, raw, i) for i, (kind, raw) in enumerate(requests)))

    async def open_page(self, model: Model) -> dict[str, str]:
        """The page, then what a browser fetches for it that it has not cached: stylesheet, icon, scripts, each ES
        module as soon as a script importing it arrives; then the detail and captions. Returns the data-*-url."""
        page = await self.send("page", get(model.page))
        if page is None:
            return {}
        text = page.body.decode()
        urls = {name: path for name, url in DATA_URL.findall(text) if (path := local(url)) is not None}
        queue: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()  # (path, an ES module whose imports load too)

        def want(path: str | None, module: bool) -> None:
            if path is not None and path not in self.cached:
                self.cached.add(path)
                queue.put_nowait((path, module))

        async def fetcher(connection: int) -> None:
            while True:
                path, module = await queue.get()
                try:
                    answer = await self.send("static", get(path, gzip=True), connection)
                    if answer is not None and module:
                        body = answer.body
                        body = gzip.decompress(body) if body.startswith(b"\x1f\x8b") else body  # the gzip magic
                        for a, b in IMPORT.findall(body.decode(errors="replace")):
                            want(local(a or b, path), True)
                finally:
                    queue.task_done()

        for tag in ASSET.finditer(text):
            want(local(tag[1]), 'type="module"' in tag[0])
        fetchers = [asyncio.create_task(fetcher(c)) for c in range(CONNECTIONS)]
        try:
            await queue.join()
        finally:
            for task in fetchers:
                task.cancel()
        first = [("detail", get(urls["detail"]))] if "detail" in urls else []
        if "captions" in urls and urls["captions"] not in self.cached:
            self.cached.add(urls["captions"])
            first.append(("static", get(urls["captions"])))
        await self.fetch_all(first)
        return urls

    def sampling(self, model: Model, penalty: bool = False) -> dict[str, object]:
        """The sampling controls after a move: mostly the temperature slider, sometimes top-k, top-p or the penalty."""
        rng = self.rng
        self.slider = min(100, max(0, self.slider + rng.randint(-8, 8)))
        body: dict[str, object] = {"temperature": round(5 * (self.slider / 100) ** 2, 3)}
        if rng.random() < 0.3:
            body["top_k"] = rng.randint(1, model.outputs)
        if rng.random() < 0.3:
            body["top_p"] = round(rng.uniform(0.05, 1.0), 2)
        if penalty and rng.random() < 0.2:
            body["repetition_penalty"] = round(rng.uniform(1.0, 3.0), 2)
        return body

    async def move(self, model: Model, urls: dict[str, str]) -> None:
        """One change of a control and the requests the page sends for it."""
        rng, forward, generate = self.rng, urls["forward"], urls.get("generate", "")
        kind = model.family
        if model.family == "mlp":  # dragging x: small steps, now and then a jump
            self.x = rng.uniform(0, 10) if rng.random() < 0.1 else min(10.0, max(0.0, self.x + rng.gauss(0, 0.3)))
            await self.send(f"forward {kind}", post_json(forward, {"input": round(self.x, 2)}))
        elif model.family == "textnet":  # a word or a control: the pass, the greedy chain and a sampled chain
            word = rng.choice(model.vocab)
            params = self.sampling(model)
            self.seed += rng.random() < 0.2  # "sample again"
            await self.fetch_all(
                [
                    (f"forward {kind}", post_json(forward, {"input": word, **params})),
                    (f"generate {kind}", post_json(generate, {"prompt": word, "temperature": 0})),
                    (f"generate {kind}", post_json(generate, {"prompt": word, **params, "seed": self.seed})),
                ]
            )
        elif model.family == "gpt":
            params = self.sampling(model, penalty=True)
            room = model.n_ctx - (len(self.text) if model.characters else len(self.text.split()))
            if not self.text or rng.random() < 0.2 or room <= 0:  # an example, or the start of one
                words = rng.choice(GPT_TEXTS).split()
                self.text = " ".join(words[: rng.randint(1, len(words))])
            elif rng.random() < 0.25:  # "one word" or "to the end"; the page then walks the longer text
                body = {"prompt": self.text, "max_new_tokens": min(rng.choice([1, 20]), room), **params}
                answer = await self.send(f"generate {kind}", post_json(generate, {**body, "seed": self.seed}))
                self.text = json.loads(answer.body)["text"] if answer is not None else self.text
            await self.send(f"forward {kind}", post_json(forward, {"input": self.text, **params}))
        elif model.family == "bert":  # a sentence read, now and then two compared
            sentence = rng.choice(SENTENCES)
            if rng.random() < 0.2 and "compare" in urls:
                body = {"input": sentence, "other": rng.choice(SENTENCES)}
                await self.send(f"compare {kind}", post_json(urls["compare"], body))
            else:
                await self.send(f"forward {kind}", post_json(forward, {"input": sentence}))
        else:  # seq2seq: a sentence and a prefix of its translation (any prefix is valid), or "translate"
            source, target = rng.choice(SOURCES), rng.choice(TARGETS).split()
            params = self.sampling(model)
            if rng.random() < 0.2:
                await self.send(f"generate {kind}", post_json(generate, {"prompt": source, **params, "seed": 0}))
            else:
                body = {"input": source, "target": " ".join(target[: rng.randint(0, len(target))]), **params}
                await self.send(f"forward {kind}", post_json(forward, body))

    async def attend(self, models: list[Model], first: int, stop_at: float) -> None:
        """A student in the lecture: a page, moves with thinking in between, then the next model's page."""
        index = first
        try:
            while time.perf_counter() < stop_at:
                model = models[index % len(models)]
                urls = await self.open_page(model)
                if "forward" not in urls:  # the page did not load: the student reloads it after a moment
                    await asyncio.sleep(self.rng.uniform(*THINK_S))
                    continue
                leave_at = min(stop_at, time.perf_counter() + self.rng.uniform(*STAY_S))
                while time.perf_counter() < leave_at:
                    await self.move(model, urls)
                    await asyncio.sleep(self.rng.uniform(*THINK_S))
                index += 1
        finally:
            self.close()

    def close(self) -> None:
        for connection in self.connections:
            connection.close()
            if self.stats is not None:
                self.stats.resent += connection.resent


async def discover(port: int) -> list[Model]:
    models = []
    for summary in await get_json(port, "/api/models"):
        detail: dict[str, Any] = await get_json(port, f"/api/models/{summary['id']}")
        vocab, outputs = detail.get("vocab") or [], detail.get("target_vocab") or detail.get("vocab") or []
        n_ctx = int(detail["config"].get("n_ctx", 0))
        models.append(Model(summary["id"], summary["family"], f"/models/{summary['id']}", vocab, len(outputs), n_ctx))
    return models


async def warm_up(port: int, models: list[Model], timeout_s: float) -> None:
    """Every kind of request once on every model, so the figure before the load is not that of a cold server."""
    stats = Stats()
    student = Student(port, random.Random(-1), stats, timeout_s)
    first = {"mlp": 4.0, "textnet": "", "gpt": GPT_TEXTS[0], "seq2seq": SOURCES[0], "bert": SENTENCES[0]}
    try:
        for model in models:
            urls = await student.open_page(model)
            student.cached.clear()
            text = first[model.family] or model.vocab[0]
            await student.send("forward", post_json(urls["forward"], {"input": text}))
            if "generate" in urls:
                await student.send("generate", post_json(urls["generate"], {"prompt": text, "seed": 0}))
    finally:
        student.close()
    if stats.failures:
        raise SystemExit(f"load: the warm-up failed: {dict(stats.reasons)}")


async def lecture(
    port: int, models: list[Model], args: argparse.Namespace, server: Server, seconds: float
) -> tuple[Stats, int]:
    """Runs the students for `seconds`; returns the figures and the largest VmRSS seen, sampled every second."""
    stats, started = Stats(), time.perf_counter()
    stop_at = started + seconds
    server_cpu, client_cpu, load_before = server.cpu_seconds(), time.process_time(), os.getloadavg()[0]

    async def student(i: int) -> None:
        rng = random.Random(args.seed * 100_003 + i)
        await asyncio.sleep(rng.uniform(0, args.ramp))  # students open the link within the first seconds
        await Student(port, rng, stats, args.timeout).attend(models, i, stop_at)

    peak = server.memory_kib()

    async def sample_memory() -> None:
        nonlocal peak
        while True:
            await asyncio.sleep(1)
            peak = max(peak, server.memory_kib())

    sampler = asyncio.create_task(sample_memory())
    students = [asyncio.create_task(student(i)) for i in range(args.students)]
    try:  # moves under way end within a request timeout or two; a student still waiting after that is an error
        done, late = await asyncio.wait(students, timeout=seconds + args.ramp + 2 * args.timeout + 10)
    finally:
        sampler.cancel()
    for task in late:
        task.cancel()
        stats.fail("all", "still waiting at the time limit")
    await asyncio.gather(*late, return_exceptions=True)
    for task in done:
        task.result()  # a failure of the load generator itself stops the run
    stats.elapsed_s = time.perf_counter() - started
    stats.server_cpu_s = server.cpu_seconds() - server_cpu
    stats.client_cpu_s = time.process_time() - client_cpu
    stats.load_average = (load_before, os.getloadavg()[0])
    return stats, peak


def report(
    args: argparse.Namespace, server: Server, models: list[Model], stats: Stats, memory: list[int], warm: Stats
) -> bool:
    started, before, after, peak = memory
    growth = (after - before) / before
    errors = stats.failures.total() + warm.failures.total()
    ok = growth < MAX_GROWTH and not errors
    print(
        f"\n{args.students} students × {args.seconds:g} s ({stats.elapsed_s:.1f} s with the last answers) on "
        f"{len(models)} models; think time {THINK_S[0] * 1000:.0f}-{THINK_S[1] * 1000:.0f} ms, arrivals over "
        f"{args.ramp:g} s, seed {args.seed}; server ready {server.ready_s:.2f} s after start\n"
    )
    print("| request kind | count | req/s | p50 ms | p99 ms | max ms | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    every = [ms for kind_ms in stats.latencies_ms.values() for ms in kind_ms]
    rows = [("all", stats.requests.total(), every, errors)]
    kinds = [k for k in ("page", "static", "detail") if k in stats.requests]
    kinds += sorted(k for k in stats.requests if k not in kinds)
    rows += [(kind, stats.requests[kind], stats.latencies_ms[kind], stats.failures[kind]) for kind in kinds]
    for kind, count, ms, failed in rows:
        print(
            f"| {kind} | {count:,} | {count / stats.elapsed_s:,.1f} | {percentile(ms, 50):.1f} "
            f"| {percentile(ms, 99):.1f} | {max(ms, default=0):.1f} | {failed} |"
        )
    print("\n| server memory (VmRSS) | MiB |")
    print("| --- | ---: |")
    print(f"| just started | {started / 1024:.1f} |")
    print(f"| before the load (after the warm-up: {args.warmup:g} s of the same lecture) | {before / 1024:.1f} |")
    print(f"| after the load | {after / 1024:.1f} |")
    print(f"| largest seen during the load (sampled each second) | {peak / 1024:.1f} |")
    print(f"| growth | {growth * 100:+.1f} % (budget < {MAX_GROWTH * 100:.0f} %) |")
    print(
        f"\nCPU during the load: server {stats.server_cpu_s:.1f} s, load generator {stats.client_cpu_s:.1f} s, in "
        f"{stats.elapsed_s:.1f} s on {os.cpu_count()} cores; the machine's load average was "
        f"{stats.load_average[0]:.1f} before and {stats.load_average[1]:.1f} after (other work shows there)."
    )
    if stats.resent:
        print(f"\n{stats.resent} requests were sent again on a new connection after the server closed an idle one.")
    print(f"\nThe warm-up lecture sent {warm.requests.total():,} requests, {warm.failures.total()} of them failed.")
    if errors:
        reasons = stats.reasons + warm.reasons
        print("\nerrors:", ", ".join(f"{reason} × {n}" for reason, n in reasons.most_common()))
    print(f"\n{errors} errors (target 0), memory {growth * 100:+.1f} % (budget < 10 %): {'pass' if ok else 'FAIL'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200, help="simulated students, one browser each")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the students keep moving controls")
    parser.add_argument("--ramp", type=float, default=5.0, help="students open their first page within this time")
    parser.add_argument("--timeout", type=float, default=30.0, help="a request slower than this counts as an error")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds of the same lecture before 'before'")
    args = parser.parse_args()

    with serve("load") as server:
        started = server.memory_kib()
        models = asyncio.run(discover(server.port))
        asyncio.run(warm_up(server.port, models, args.timeout))
        warm, _ = asyncio.run(lecture(server.port, models, args, server, args.warmup))
        before = server.memory_kib()
        stats, peak = asyncio.run(lecture(server.port, models, args, server, args.seconds))
        after = server.memory_kib()
    return 0 if report(args, server, models, stats, [started, before, after, max(peak, after)], warm) else 1


if __name__ == "__main__":
    raise SystemExit(main())
