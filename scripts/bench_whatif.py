"""Issue 16's figure for `make bench`: what a forward with interventions costs beside one without.

Measured alone (one client, sequential) on the largest models of each kind, each request a text the server has not
seen, so every pass is run: without interventions (one pass), and with them (the unchanged pass, the changed one,
and what moved between them). Requests alternate between the two kinds, so the machine's other work weighs on both
alike. Budget: the median with interventions at most 2× the median without. A page that has the unchanged answer on
screen already pays one pass (the kept one is read), which the "warm" rows show.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass

from loopback import Connection, post_json

RATIO_BUDGET = 2.0
REQUESTS = 40
WORDS = ["the", "dog", "chased", "cat", "who", "was", "saw", "birds", "man", "bites", "."]
SENTENCE = ["a", "man", "is", "eating", "food", "in", "the", "old", "house", "by", "river", "and", "sees", "dog"]


@dataclass(frozen=True)
class Row:
    model: str
    changes: str
    plain_ms: list[float]
    changed_ms: list[float]
    warm_ms: list[float]
    errors: int

    @property
    def ratio(self) -> float:
        return statistics.median(self.changed_ms) / statistics.median(self.plain_ms)


CASES = [  # model, its words (a character model: its characters), tokens, the changes, how to say them
    ("tiny-gpt", WORDS, 16, [{"op": "no_causal_mask", "layer": 0}], "no mask in block 0"),
    (
        "tiny-gpt",
        WORDS,
        16,
        [{"op": "ablate_head", "layer": 1, "head": 2}, {"op": "no_positions"}],
        "a head, positions",
    ),
    ("minilm-l6", SENTENCE, 30, [{"op": "ablate_head", "layer": 0, "head": 2}], "a head in block 0"),  # +[CLS], [SEP]
    ("shakespeare-char", list("abcdefghilmnorst "), 128, [{"op": "no_scaling", "layer": 3}], "no √d in block 3"),
]


def text(rng: random.Random, words: list[str], n: int) -> str:
    """n tokens drawn at random: a text the server has not seen (a character model's tokens are characters)."""
    joiner = "" if all(len(w) == 1 for w in words) else " "
    return joiner.join(rng.choice(words) for _ in range(n))


async def measure(port: int) -> list[Row]:
    rows, rng = [], random.Random(16)
    connection = Connection(port)

    async def timed(model: str, body: dict[str, object]) -> tuple[float, bool]:
        started = time.perf_counter()
        response = await connection.request(post_json(f"/api/models/{model}/forward", body))
        return (time.perf_counter() - started) * 1000, response.status == 200

    try:
        for model, words, tokens, changes, said in CASES:
            plain: list[float] = []
            changed: list[float] = []
            warm: list[float] = []
            errors = 0
            for i in range(REQUESTS + 2):  # the first two warm the interpreter's paths
                took = [
                    await timed(model, {"input": text(rng, words, tokens)}),
                    await timed(model, {"input": (again := text(rng, words, tokens)), "interventions": changes}),
                    await timed(model, {"input": again, "interventions": changes}),  # both passes kept now
                ]
                errors += sum(not ok for _, ok in took)
                if i >= 2:
                    for into, (ms, _) in zip((plain, changed, warm), took, strict=True):
                        into.append(ms)
            rows.append(Row(model, said, plain, changed, warm, errors))
    finally:
        connection.close()
    return rows


def report(rows: list[Row]) -> bool:
    print(
        f"\nWhat if (issue 16), alone: one client, {REQUESTS} new texts each, a forward without and with the changes "
        "in turn (milliseconds on loopback); budget: with ≤ 2× without.\n"
    )
    print("| model | changes | without, p50 | with, p50 | ratio | with, both passes kept, p50 | errors | budget |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    ok = True
    for row in rows:
        met = row.ratio <= RATIO_BUDGET and not row.errors
        ok &= met
        print(
            f"| {row.model} | {row.changes} | {statistics.median(row.plain_ms):.1f} | "
            f"{statistics.median(row.changed_ms):.1f} | {row.ratio:.2f} | {statistics.median(row.warm_ms):.1f} | "
            f"{row.errors} | {'pass' if met else '**FAIL**'} |"
        )
    return ok
