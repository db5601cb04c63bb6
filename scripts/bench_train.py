"""Issue 17's figures for `make bench`: what live training costs the forward passes, and how soon a run arrives.

Forward p99 is measured alone (one client, sequential, each request a text the server has not seen, on tiny-gpt)
with no live run going, then with LAYERWALK_TRAIN_RUNS (4) runs going the whole time (a run that ends is started
again), then with none once more; the budget is p99 with runs ≤ 2× p99 without (the larger of the two "without").
Then a 500-epoch text-net run with the shipped settings is streamed alone, from the request to its last event: the
budget is under 5 s. The runs are processes of their own at a lower priority (app/training.py).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from dataclasses import dataclass

from loopback import Connection, percentile, post_json

RATIO_BUDGET = 2.0
STREAM_BUDGET_S = 5.0
REQUESTS = 120
RUNS = 4
STREAMS = 3
WORDS = ["the", "dog", "chased", "cat", "who", "was", "saw", "birds", "man", "bites", "."]
BUSY_RUN: dict[str, object] = {"family": "mlp", "optimizer": "adam", "lr": 0.02, "seed": 1, "epochs": 6000, "width": 8}
SHIPPED_TEXTNET: dict[str, object] = {"family": "textnet"}


@dataclass(frozen=True)
class Figures:
    idle_ms: list[float]
    busy_ms: list[float]
    idle_after_ms: list[float]
    runs_done: int
    stream_s: list[float]
    race_s: list[float]  # a race, as the page sends it: SGD and Adam asked for at once, one process waiting
    errors: int

    @property
    def idle_p99(self) -> float:
        return max(percentile(self.idle_ms, 99), percentile(self.idle_after_ms, 99))

    @property
    def ratio(self) -> float:
        return percentile(self.busy_ms, 99) / self.idle_p99


async def forwards(port: int, rng: random.Random) -> tuple[list[float], int]:
    connection, took, errors = Connection(port), [], 0
    try:
        for i in range(REQUESTS + 2):  # the first two warm the interpreter's paths
            text = " ".join(rng.choice(WORDS) for _ in range(12))
            started = time.perf_counter()
            response = await connection.request(post_json("/api/models/tiny-gpt/forward", {"input": text}))
            if i >= 2:
                took.append((time.perf_counter() - started) * 1000)
            errors += response.status != 200
    finally:
        connection.close()
    return took, errors


async def stream(port: int, body: dict[str, object]) -> tuple[float, str]:
    """Seconds from sending a run to its last event, and that event's name."""
    connection = Connection(port)
    try:
        started = time.perf_counter()
        response = await connection.request(post_json("/api/train", body))
        took = time.perf_counter() - started
    finally:
        connection.close()
    if response.status != 200:
        return took, f"HTTP {response.status}"
    last = response.body.decode().strip().rsplit("\n\n", 1)[-1]
    return took, last.split("\n", 1)[0].removeprefix("event: ")


async def measure(port: int) -> Figures:
    rng = random.Random(17)
    await asyncio.sleep(4)  # the training process the server starts ahead is loaded by now
    idle, errors = await forwards(port, rng)
    stop = asyncio.Event()
    done = 0

    async def keep_running() -> None:
        nonlocal done, errors
        while not stop.is_set():
            _, last = await stream(port, BUSY_RUN)
            done += last == "done"
            errors += last not in ("done", "stopped")

    runners = [asyncio.create_task(keep_running()) for _ in range(RUNS)]
    await asyncio.sleep(6)  # every run's process started and training
    busy, busy_errors = await forwards(port, rng)
    stop.set()
    for runner in runners:
        runner.cancel()
    await asyncio.gather(*runners, return_exceptions=True)
    await asyncio.sleep(10)  # the cancelled runs' processes are gone, a new one waits, loaded
    idle_after, after_errors = await forwards(port, rng)
    streamed = []
    for _ in range(STREAMS):
        took, last = await stream(port, SHIPPED_TEXTNET)
        streamed.append(took)
        errors += last != "done"
        await asyncio.sleep(5)  # the next waiting process loads
    raced = await asyncio.gather(*(stream(port, {**SHIPPED_TEXTNET, "optimizer": o}) for o in ("sgd", "adam")))
    errors += sum(last != "done" for _, last in raced)
    race = [took for took, _ in raced]
    return Figures(idle, busy, idle_after, done, streamed, race, errors + busy_errors + after_errors)


def report(figures: Figures) -> bool:
    print(
        f"\nLive training (issue 17): tiny-gpt forward, one client, {REQUESTS} new texts, with no run and with {RUNS} "
        f"live runs going (milliseconds on loopback); budget: p99 with runs ≤ {RATIO_BUDGET:g}× without.\n"
    )
    print("| runs going | p50 | p99 |")
    print("| --- | ---: | ---: |")
    for label, ms in (("none", figures.idle_ms), (str(RUNS), figures.busy_ms), ("none, after", figures.idle_after_ms)):
        print(f"| {label} | {statistics.median(ms):.1f} | {percentile(ms, 99):.1f} |")
    ratio_ok = figures.ratio <= RATIO_BUDGET
    stream_ok = max(figures.stream_s) < STREAM_BUDGET_S
    race_ok = max(figures.race_s) < STREAM_BUDGET_S
    print(
        f"\np99 with {RUNS} runs / without: {figures.ratio:.2f} ({'pass' if ratio_ok else '**FAIL**'}); "
        f"{figures.runs_done} runs finished meanwhile; errors {figures.errors}"
    )
    print(
        "a 500-epoch text-net run (the shipped settings) streamed whole: "
        + ", ".join(f"{s:.2f} s" for s in figures.stream_s)
        + f" (budget < {STREAM_BUDGET_S:g} s: {'pass' if stream_ok else '**FAIL**'})"
    )
    print(
        "a race (SGD and Adam asked for at once; one process waits ready, the other starts): "
        + ", ".join(f"{s:.2f} s" for s in figures.race_s)
        + f" (budget < {STREAM_BUDGET_S:g} s: {'pass' if race_ok else '**FAIL**'})"
    )
    return ratio_ok and stream_ok and race_ok and not figures.errors


if __name__ == "__main__":
    from loopback import serve

    with serve("bench_train") as server:
        raise SystemExit(0 if report(asyncio.run(measure(server.port))) else 1)
