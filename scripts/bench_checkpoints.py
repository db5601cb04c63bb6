"""Issue 17's scrubbing figure for `make bench`: what a forward at a checkpoint not yet loaded costs (the server
reads that step's weights from ID.checkpoints.safetensors, builds the model and runs the pass) beside a forward of a
new input with the final weights, as a page's scrubber sweeps every saved step.

Measured alone (one client, sequential), the two kinds in turn so the machine's other work weighs on both alike:
each scrub step asks for the next checkpoint with the page's input (so the pass runs too), each baseline request a
new input at the final weights. Budget: the median scrub step at most 3× the median baseline (a step loads the
weights and builds the model, then runs the pass the baseline runs).
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass
from typing import Any

from loopback import Connection, get_json, post_json

RATIO_BUDGET = 3.0
WORDS = ["the", "dog", "chased", "cat", "who", "was", "saw", "birds", "man", "bites", "."]


@dataclass(frozen=True)
class Row:
    model: str
    steps: int
    scrub_ms: list[float]
    plain_ms: list[float]
    errors: int

    @property
    def ratio(self) -> float:
        return statistics.median(self.scrub_ms) / statistics.median(self.plain_ms)


def inputs(model: str, rng: random.Random) -> Any:
    """A new input for the model each time: a number, a word, words or characters."""
    if model.startswith("sqrt-mlp"):
        return round(rng.uniform(0.0, 10.0), 6)
    if model.startswith("textnet"):
        return rng.choice(["hello", "cat", "dog", "silly", "cute", "world"])
    if model == "shakespeare-char":
        return "".join(rng.choice("abcdefghilmnorst ") for _ in range(128))
    if model == "tiny-translator":
        return " ".join(rng.choice(["the", "cat", "dog", "sees", "a", "bird"]) for _ in range(6)) + " ."
    return " ".join(rng.choice(WORDS) for _ in range(16))


MODELS = ("sqrt-mlp-16x16", "textnet-2d-sgd", "tiny-gpt", "tiny-translator", "shakespeare-char")


async def measure(port: int, models: tuple[str, ...] = MODELS) -> list[Row]:
    rows, rng = [], random.Random(17)
    connection = Connection(port)

    async def timed(model: str, body: dict[str, object]) -> tuple[float, bool]:
        started = time.perf_counter()
        response = await connection.request(post_json(f"/api/models/{model}/forward", body))
        return (time.perf_counter() - started) * 1000, response.status == 200

    try:
        for model in models:
            saved: list[int] = (await get_json(port, f"/api/models/{model}"))["checkpoints"]
            shown = inputs(model, rng)  # the page's input, as the scrubber sweeps
            scrub: list[float] = []
            plain: list[float] = []
            errors = 0
            await timed(model, {"input": inputs(model, rng)})  # the interpreter's paths warmed
            for step in saved[:-1]:  # the last is the final weights, loaded already
                took = [
                    await timed(model, {"input": shown, "checkpoint": step}),
                    await timed(model, {"input": inputs(model, rng)}),
                ]
                errors += sum(not ok for _, ok in took)
                scrub.append(took[0][0])
                plain.append(took[1][0])
            rows.append(Row(model, len(saved) - 1, scrub, plain, errors))
    finally:
        connection.close()
    return rows


def report(rows: list[Row]) -> bool:
    print(
        "\nScrubbing through training (issue 17), alone: one client, each saved step once (its weights read and the "
        "model built), beside a new input at the final weights (milliseconds on loopback); budget: ≤ 3×.\n"
    )
    print("| model | steps swept | new input, p50 | checkpoint step, p50 | slowest step | ratio | errors | budget |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    ok = True
    for row in rows:
        met = row.ratio <= RATIO_BUDGET and not row.errors
        ok &= met
        print(
            f"| {row.model} | {row.steps} | {statistics.median(row.plain_ms):.1f} | "
            f"{statistics.median(row.scrub_ms):.1f} | {max(row.scrub_ms):.1f} | {row.ratio:.2f} | {row.errors} | "
            f"{'pass' if met else '**FAIL**'} |"
        )
    return ok
