"""`make bench`: start the server as in production, load every API endpoint on loopback, check issue 8's budget.

Each endpoint gets the same bounded load (32 keep-alive clients for 10 s by default) from one asyncio process
speaking plain HTTP/1.1 (scripts/loopback.py), so the client costs little next to the server. Inputs change with
every request, as when a student drags a slider. The load generator shares the machine's cores with the server:
compare the ratios to /healthz measured in the same run, not absolute figures across machines.

Then each endpoint is measured alone (one client, sequential) with the longest input it accepts: the slowest of
those requests is how long one request can hold the worker.

Issue 14's unfolding (POST …/explain) is loaded the same way, then measured alone on the largest models with their
longest inputs: warm (the forward request on screen, a random value clicked each time, so the kept pass is read)
and cold (a new sentence each request, so the pass is run first). The server sends no timing header, so its time is
the round trip on loopback with one client: an over-count by the client's share, on the safe side.

Exit status 1 when a request failed or the budget was missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import bench_checkpoints
import bench_train
import bench_whatif
from loopback import Connection, Server, get, get_json, percentile, post_json, serve

Make = Callable[[], bytes]  # a request, made afresh for each send
P99_BUDGET_MS = 50.0
READY_BUDGET_S = 3.0
ALONE_BUDGET_MS = 1000.0  # issue 8: no single request holds a worker for more than about a second
ALONE_REQUESTS = 20
EXPLAIN_BUDGET_MS = 20.0  # issue 14: p95 server time of one unfolding, on the largest model served
EXPLAIN_REQUESTS = 200
# The values a student clicks, by the end of their hook name (or the name): the most expensive unfoldings of each
# kind, sums over d_model, d_head, heads × d_head, d_mlp and the keys, the layer norms and the next token.
EXPLAIN_KINDS = (
    "attn.hook_scores_raw",
    "attn.hook_pattern",
    "cross_attn.hook_pattern",
    "hook_attn_out",
    "hook_cross_out",
    "mlp.hook_pre",
    "hook_mlp_out",
    "hook_std",
    "hook_normalized",
    "hook_logits",
    "output.scaled",
    "output.probs",
)
DETAIL = "sqrt-mlp-16x16"  # the largest detail (its exact piecewise-linear analysis)
SIXTEEN = "the dog chased the cat . who was chased ? the cat . the dog ."
TEXTNET_WORDS = ["hello", "world", "cat", "dog", "!", "silly", "cute"]
GPT_TEXT = "the boy took the money , reached the bank and saw the hungry fox that chased the mice ."
SOURCE = "the small black cat sees the white houses . the red birds see a dog ."  # 16 tokens: the encoder's n_ctx
TARGET = "le petit chat noir voit les maisons blanches . les oiseaux rouges voient un chien"  # 15: n_ctx - 1
GPT_CONTEXT = " ".join((GPT_TEXT.split() * 2)[:24])  # n_ctx tokens


@dataclass
class Case:
    name: str
    make: Make
    min_ratio: float | None = None  # throughput budget as a fraction of /healthz's, in the same run
    p99_budget: bool = True  # False for generation: a chain of up to 21 passes, see docs/performance.md
    unbudgeted: str = "a chain of passes"  # why, when the case has no budget


@dataclass
class Result:
    case: Case
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    response_bytes: int = 0

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds


async def _client(port: int, make: Make, stop_at: float, result: Result) -> None:
    connection = Connection(port)
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                response = await connection.request(make())
            except (OSError, EOFError, ValueError):  # the connection failed: counted, and the next request reconnects
                result.errors += 1
                continue
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            result.errors += response.status != 200
            result.response_bytes = len(response.body)
    finally:
        connection.close()


async def load(port: int, case: Case, clients: int, seconds: float) -> Result:
    result = Result(case, seconds)
    started = time.perf_counter()
    await asyncio.gather(*(_client(port, case.make, started + seconds, result) for _ in range(clients)))
    result.seconds = time.perf_counter() - started
    return result


async def alone(port: int, make: Make, requests: int) -> tuple[list[float], int]:
    """Latencies of `requests` sequential requests on one connection, and how many failed."""
    connection, latencies, errors = Connection(port), list[float](), 0
    try:
        for _ in range(requests):
            started = time.perf_counter()
            try:
                response = await connection.request(make())
            except (OSError, EOFError, ValueError):
                errors += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            errors += response.status != 200
    finally:
        connection.close()
    return latencies, errors


def fill(words: list[str], limit: int) -> str:
    """The words, cycled, up to `limit` characters (as many as fit)."""
    text = words[0]
    for i in range(1, 10 * limit):
        longer = f"{text} {words[i % len(words)]}"
        if len(longer) > limit:
            return text
        text = longer
    return text


def cases(rng: random.Random) -> list[Case]:
    words = TEXTNET_WORDS

    def slider(model: str) -> Make:  # a student dragging the x slider
        return lambda: post_json(f"/api/models/{model}/forward", {"input": round(rng.uniform(0.0, 10.0), 2)})

    def slider_t() -> float:  # what the pages' temperature slider sends: 101 positions, T = 5·(s/100)²
        return round(5 * (rng.randrange(101) / 100) ** 2, 3)

    def temperature() -> bytes:  # ... or the temperature slider on a word
        body = {"input": rng.choice(words), "temperature": slider_t()}
        return post_json("/api/models/textnet-4d-adam/forward", body)

    def sampling() -> bytes:  # ... or "sample again"
        body = {"prompt": rng.choice(words), "temperature": 1.5, "seed": rng.randrange(1000)}
        return post_json("/api/models/textnet-2d-sgd/generate", body)

    prompts = ["the dogs that chased the cat", "the queen met the king and", "dog bites man ."]

    def typing() -> bytes:  # ... or a prompt on the GPT page
        body = {"input": rng.choice(prompts), "temperature": slider_t()}
        return post_json("/api/models/tiny-gpt/forward", body)

    sixteen = post_json("/api/models/tiny-gpt/forward", {"input": SIXTEEN})

    def continuing() -> bytes:  # ... or "to the end" on the GPT page (the page stops at a full context)
        body = {"prompt": rng.choice(prompts), "max_new_tokens": 10, "temperature": round(rng.uniform(0.5, 2.0), 2)}
        return post_json("/api/models/tiny-gpt/generate", {**body, "seed": rng.randrange(1000)})

    sources = ["the black cat sleeps .", "a small car sees the green flowers .", "the white houses fall ."]

    def translating() -> bytes:  # ... or a sentence on the translator page
        body = {"input": rng.choice(sources), "target": rng.choice(["", "le", "les petites"])}
        return post_json("/api/models/tiny-translator/forward", body)

    def decoding() -> bytes:  # ... or "translate"
        return post_json("/api/models/tiny-translator/generate", {"prompt": rng.choice(sources), "temperature": 0})

    return [
        Case("GET /healthz (baseline)", lambda: get("/healthz")),
        Case("POST forward sqrt-mlp-2x2", slider("sqrt-mlp-2x2"), 0.5),
        Case("POST forward sqrt-mlp-16x16", slider("sqrt-mlp-16x16"), 0.5),
        Case(f"GET detail {DETAIL}", lambda: get(f"/api/models/{DETAIL}")),
        Case("POST forward textnet-4d-adam", temperature, 0.5),
        Case("POST generate textnet-2d-sgd", sampling, p99_budget=False),
        Case("POST forward tiny-gpt", typing, 0.25),
        Case("POST forward tiny-gpt, 16 tokens", lambda: sixteen, 0.25),
        Case("POST generate tiny-gpt", continuing, p99_budget=False),
        Case("POST forward tiny-translator", translating, 0.25),
        Case("POST generate tiny-translator", decoding, p99_budget=False),
    ]


def worst_cases(rng: random.Random, vocab: dict[str, int]) -> list[tuple[str, str, Make]]:
    """Each endpoint's most expensive input: (endpoint, what the input is, request). `vocab`: sizes by model."""
    long_text = fill(TEXTNET_WORDS, 400)
    gpt_words = GPT_TEXT.split()
    gpt_prompt = fill(gpt_words, 400)

    def sampled(model: str) -> dict[str, object]:  # every sampling stage on, hot enough not to stop early
        top_p = round(rng.uniform(0.95, 1.0), 3)
        return {"temperature": 10.0, "top_k": vocab[model], "top_p": top_p, "repetition_penalty": 1.1}

    def forward(model: str, body: dict[str, object]) -> Make:
        return lambda: post_json(f"/api/models/{model}/forward", {**body, **sampled(model)})

    def mlp(model: str) -> Make:
        return lambda: post_json(f"/api/models/{model}/forward", {"input": round(rng.uniform(0.0, 10.0), 2)})

    def generate(model: str, prompt: str) -> Make:
        body = {"prompt": prompt, "max_new_tokens": 20}
        return lambda: post_json(
            f"/api/models/{model}/generate", {**body, **sampled(model), "seed": rng.randrange(2**31)}
        )

    chars = f"{len(long_text)} characters"
    return [
        ("POST forward sqrt-mlp-2x2", "x in [0, 10] (every x costs the same)", mlp("sqrt-mlp-2x2")),
        ("POST forward sqrt-mlp-16x16", "x in [0, 10]", mlp("sqrt-mlp-16x16")),
        (f"GET detail {DETAIL}", "the largest detail", lambda: get(f"/api/models/{DETAIL}")),
        ("POST forward textnet-4d-adam", chars, forward("textnet-4d-adam", {"input": long_text})),
        ("POST generate textnet-2d-sgd", f"{chars}, max_new_tokens 20", generate("textnet-2d-sgd", long_text)),
        ("POST forward tiny-gpt", "24 tokens (a full context)", forward("tiny-gpt", {"input": GPT_CONTEXT})),
        (
            "POST generate tiny-gpt",
            f"{len(gpt_prompt)} characters, max_new_tokens 20",
            generate("tiny-gpt", gpt_prompt),
        ),
        (
            "POST forward tiny-translator",
            "16 source tokens, 15 target tokens",
            forward("tiny-translator", {"input": SOURCE, "target": TARGET}),
        ),
        (
            "POST generate tiny-translator",
            "16 source tokens, max_new_tokens 20 (15 fit)",
            generate("tiny-translator", SOURCE),
        ),
    ]


Shapes = dict[str, list[int]]  # each value's shape without the batch axis, by hook name (and output.*)


def of_kind(name: str, kind: str) -> bool:
    return name == kind or name.endswith(f".{kind}")


def clicks(rng: random.Random, shapes: Shapes) -> Callable[[], dict[str, object]]:
    """A student clicking numbers: a kind of value at random, one of its hooks, then any index into it."""
    kinds = [[name for name in shapes if of_kind(name, kind)] for kind in EXPLAIN_KINDS]
    hooks = [names for names in kinds if names]

    def click() -> dict[str, object]:
        hook = rng.choice(rng.choice(hooks))
        return {"hook": hook, "index": [rng.randrange(n) for n in shapes[hook]]}

    return click


def sentence(rng: random.Random, words: list[str], n: int) -> str:
    return " ".join(rng.choice(words) for _ in range(n))


Unfolding = tuple[str, str, Make, float | None]  # endpoint, input, request, p95 budget alone


def unfoldings(rng: random.Random, shapes: dict[str, Shapes], vocabs: dict[str, list[str]]) -> list[Unfolding]:
    """Issue 14's explain requests on the largest models, each with its longest input. Warm: the forward request
    on screen, whose pass the server keeps. Cold: a new sentence of the same length each time, so the same shapes."""
    translator, gpt = clicks(rng, shapes["tiny-translator"]), clicks(rng, shapes["tiny-gpt"])
    source = [w for w in vocabs["tiny-translator"] if not w.startswith("<")]
    target = [w for w in vocabs["tiny-translator-target"] if not w.startswith("<")]
    on_screen: dict[str, object] = {"input": SOURCE, "target": TARGET}

    def explain(model: str, body: Callable[[], dict[str, object]], click: Callable[[], dict[str, object]]) -> Make:
        return lambda: post_json(f"/api/models/{model}/explain", {**body(), **click()})

    def new_sentence() -> dict[str, object]:
        return {
            "input": sentence(rng, source, len(SOURCE.split())),
            "target": sentence(rng, target, len(TARGET.split())),
        }

    sizes = "16 source tokens, 15 target tokens"
    return [
        (
            "POST explain tiny-translator, warm",
            f"{sizes}, the same each time; a random value",
            explain("tiny-translator", lambda: on_screen, translator),
            EXPLAIN_BUDGET_MS,
        ),
        (
            "POST explain tiny-translator, cold",
            f"{sizes}, a new sentence each time; a random value",
            explain("tiny-translator", new_sentence, translator),
            None,
        ),
        (
            "POST explain tiny-gpt, warm",
            "24 tokens (a full context), the same each time; a random value",
            explain("tiny-gpt", lambda: {"input": GPT_CONTEXT}, gpt),
            EXPLAIN_BUDGET_MS,
        ),
    ]


async def post_answer(port: int, path: str, body: object) -> Any:
    """The JSON body of a POST that must answer 200."""
    connection = Connection(port)
    try:
        response = await connection.request(post_json(path, body))
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"POST {path} answered {response.status}: {response.body[:200]!r}")
    return json.loads(response.body)


async def value_shapes(port: int, model: str, body: dict[str, object]) -> Shapes:
    """The shape of every value a forward answer shows (its steps and output.*), from the answer itself."""
    answer = await post_answer(port, f"/api/models/{model}/forward", body)
    shapes = {step["name"]: step["shape"] for step in answer["steps"]}
    n_vocab = len(answer["output"]["logits"])
    return {**shapes, "output.scaled": [n_vocab], "output.probs": [n_vocab]}


async def unfolding_inputs(port: int) -> tuple[dict[str, Shapes], dict[str, list[str]]]:
    """Shapes of the largest models' values for their longest inputs, and the translator's vocabularies."""
    shapes = {
        "tiny-translator": await value_shapes(port, "tiny-translator", {"input": SOURCE, "target": TARGET}),
        "tiny-gpt": await value_shapes(port, "tiny-gpt", {"input": GPT_CONTEXT}),
    }
    detail = await get_json(port, "/api/models/tiny-translator")
    return shapes, {"tiny-translator": detail["vocab"], "tiny-translator-target": detail["target_vocab"]}


async def vocab_sizes(port: int) -> dict[str, int]:
    """Each model's output vocabulary size, the largest top_k it takes (0 for the MLPs)."""
    sizes = {}
    for model in await get_json(port, "/api/models"):
        detail = await get_json(port, f"/api/models/{model['id']}")
        sizes[model["id"]] = len(detail.get("target_vocab") or detail.get("vocab") or [])
    return sizes


def budget(case: Case, result: Result, baseline_rps: float) -> tuple[str, bool]:
    parts, ok = [], True
    if case.min_ratio is not None:
        parts.append(f"≥ {case.min_ratio:.2f}×")
        ok = result.rps / baseline_rps >= case.min_ratio
    if case.p99_budget:
        parts.append(f"p99 < {P99_BUDGET_MS:g} ms")
        ok = ok and percentile(result.latencies_ms, 99) < P99_BUDGET_MS
    return ", ".join(parts) or f"none: {case.unbudgeted}", ok and not result.errors


def verdict(ok: bool) -> str:
    return "pass" if ok else "**FAIL**"


Alone = tuple[str, str, list[float], int]  # endpoint, input, latencies, errors
Unfolded = tuple[str, str, list[float], int, float | None]  # endpoint, input, latencies, errors, p95 budget


def report(
    server: Server,
    results: list[Result],
    worst: list[Alone],
    unfolded: list[Unfolded],
    args: argparse.Namespace,
    load: tuple[float, float],
) -> bool:
    baseline = results[0].rps
    ready_ok = server.ready_s < READY_BUDGET_S
    print(
        f"\nserver ready {server.ready_s:.2f} s after start (budget < {READY_BUDGET_S:g} s: {verdict(ready_ok)}); "
        f"{args.clients} clients × {args.seconds:g} s per endpoint; the machine's load average was "
        f"{load[0]:.1f} before and {load[1]:.1f} after (other work shows there)\n"
    )
    print("| endpoint | req/s | ratio to healthz | p50 ms | p99 ms | errors | response bytes | budget | |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    all_ok = ready_ok
    for r in results:
        text, ok = budget(r.case, r, baseline)
        all_ok &= ok
        print(
            f"| {r.case.name} | {r.rps:,.0f} | {r.rps / baseline:.2f} | {statistics.median(r.latencies_ms or [0]):.1f} "
            f"| {percentile(r.latencies_ms, 99):.1f} | {r.errors} | {r.response_bytes:,} | {text} | {verdict(ok)} |"
        )
    print(f"\nAlone (one client, sequential, {ALONE_REQUESTS} requests each), the longest input each endpoint takes:\n")
    print(f"| endpoint | input | p50 ms | slowest ms | errors | budget: < {ALONE_BUDGET_MS:g} ms |")
    print("| --- | --- | ---: | ---: | ---: | --- |")
    for name, what, latencies, errors in worst:
        ok = max(latencies, default=0) < ALONE_BUDGET_MS and not errors
        all_ok &= ok
        print(
            f"| {name} | {what} | {percentile(latencies, 50):.1f} | {max(latencies, default=0):.1f} | {errors} | "
            f"{verdict(ok)} |"
        )
    print(
        f"\nUnfolding a number (issue 14), alone: one client, sequential, {args.explain_requests} requests each. The "
        "server sends no Server-Timing header: these are round trips on loopback, which over-count its time.\n"
    )
    print(f"| endpoint | input | p50 ms | p95 ms | slowest ms | errors | budget: p95 ≤ {EXPLAIN_BUDGET_MS:g} ms |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    for name, what, latencies, errors, p95_budget in unfolded:
        p95 = percentile(latencies, 95)
        ok = (p95_budget is None or p95 <= p95_budget) and not errors
        all_ok &= ok
        text = "none: a new pass each time" if p95_budget is None and ok else verdict(ok)
        print(
            f"| {name} | {what} | {percentile(latencies, 50):.1f} | {p95:.1f} | {max(latencies, default=0):.1f} | "
            f"{errors} | {text} |"
        )
    print(f"\nbudget: {'met' if all_ok else 'MISSED'}")
    return all_ok


# ---- issue 15: the sizes real models bring ------------------------------------------------------------------------
# Data-driven over every served model with a walk (a transformer): the pages' requests for each stage of a text of
# SIZE_TOKENS (or the most the model takes), cut as static/js/views/panel.js cuts them. A model added later (the
# character-level GPT) is measured without a line here.
SIZE_TOKENS = 64
SIZE_BUDGET_BYTES = 300_000
PART = 24_000  # numbers per answer, as views/panel.js asks
FRESH_MODEL, FRESH_TOKENS, FRESH_BUDGET_MS = "minilm-l6", 32, 50.0
WORDS = ["the", "man", "ate", "food", "in", "the", "old", "house", "by", "the", "river", "and", "saw", "a", "dog"]


def parts(hooks: list[str], shapes: dict[str, list[int]]) -> list[dict[str, object]]:
    """The requests views/panel.js makes for a stage's hooks: small ones together, a large one cut by heads or rows."""
    asked: list[dict[str, object]] = []
    small: list[str] = []
    total = 0
    for hook in hooks:
        shape = shapes[hook]
        n = math.prod(shape)
        if n <= PART:
            if total + n > PART and small:
                asked.append({"hooks": small})
                small, total = [], 0
            small.append(hook)
            total += n
            continue
        field_ = "heads" if len(shape) == 3 else "positions"
        step = max(1, PART // (n // shape[0]))
        asked += [{"hooks": [hook], field_: [i, min(i + step, shape[0])]} for i in range(0, shape[0], step)]
    if small or not asked:
        asked.append({"hooks": small})
    return asked


def text_of(tokens: int, detail: dict[str, object]) -> dict[str, object]:
    """A body whose input reads `tokens` tokens (fewer when the model takes fewer): a wordpiece model adds [CLS] and
    [SEP]; a word model reads its own words."""
    vocab = detail.get("vocab")
    words = [w for w in vocab if isinstance(w, str) and w.isalpha()] if isinstance(vocab, list) else WORDS
    limits = detail["limits"]
    assert isinstance(limits, dict)
    most = min(tokens, int(limits.get("max_tokens") or tokens))
    n = most - 2 if vocab is None else most
    body: dict[str, object] = {"input": " ".join((words * most)[:n])}
    if "target_vocab" in detail:
        body["target"] = ""
    return body


async def sizes(port: int) -> list[tuple[str, int, int, int, str]]:
    """Per model with a walk: (id, tokens, requests, largest answer in bytes, its stage), walking every stage."""
    found = []
    for model in await get_json(port, "/api/models"):
        detail = await get_json(port, f"/api/models/{model['id']}")
        if "stages" not in detail:
            continue
        body = text_of(SIZE_TOKENS, detail)
        connection = Connection(port)
        url = f"/api/models/{model['id']}/forward"
        try:
            first = await connection.request(post_json(url, body))
            answer = json.loads(first.body)
            largest, where, requests, held = len(first.body), "default", 1, set()
            for stage in detail["stages"]:
                hooks = [p["hook"] for p in (*stage["inputs"], *stage["hooks"]) if p["hook"] not in held]
                for cut in parts(list(dict.fromkeys(hooks)), answer["shapes"]):
                    response = await connection.request(post_json(url, {**body, **cut}))
                    assert response.status == 200, response.body[:300]
                    requests += 1
                    if len(response.body) > largest:
                        largest, where = len(response.body), f"{stage['group']} · {stage['label']}"
                held.update(hooks)
        finally:
            connection.close()
        found.append((model["id"], len(answer["tokens"]), requests, largest, where))
    return found


async def fresh_forward(port: int, requests: int = 12) -> list[float]:
    """Milliseconds of MiniLM forwards of FRESH_TOKENS pieces, each a text the server has not seen (nothing kept)."""
    connection, latencies = Connection(port), []
    try:
        for i in range(requests):
            words = [f"{WORDS[(i + k) % len(WORDS)]}" for k in range(FRESH_TOKENS - 3)] + [str(i)]
            started = time.perf_counter()
            response = await connection.request(
                post_json(f"/api/models/{FRESH_MODEL}/forward", {"input": " ".join(words)})
            )
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status == 200, response.body[:300]
            assert len(json.loads(response.body)["tokens"]) == FRESH_TOKENS
    finally:
        connection.close()
    return latencies[2:]  # the first two warm the interpreter's paths


def report_sizes(server: Server, found: list[tuple[str, int, int, int, str]], fresh: list[float], rss_kib: int) -> bool:
    print(
        f"\nIssue 15: every stage of the walk as the pages ask for it (budget ≤ {SIZE_BUDGET_BYTES:,} bytes an "
        "answer):\n"
    )
    print("| model | tokens | requests | largest answer, bytes | at | budget |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    ok = True
    for model, tokens, requests, largest, where in found:
        fits = largest <= SIZE_BUDGET_BYTES
        ok &= fits
        print(f"| {model} | {tokens} | {requests} | {largest:,} | {where} | {verdict(fits)} |")
    fast = statistics.median(fresh) <= FRESH_BUDGET_MS if fresh else False
    ok &= fast
    print(
        f"\nfresh {FRESH_MODEL} forward, {FRESH_TOKENS} pieces (nothing kept; the default answer): median "
        f"{statistics.median(fresh):.1f} ms, slowest {max(fresh):.1f} ms on loopback (budget ≤ {FRESH_BUDGET_MS:g} ms: "
        f"{verdict(fast)})"
    )
    print(
        f"server memory with every model loaded: {rss_kib / 1024:.0f} MiB resident; ready {server.ready_s:.2f} s "
        "after start"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent keep-alive connections")
    parser.add_argument("--seconds", type=float, default=10.0, help="load duration per endpoint")
    parser.add_argument(
        "--explain-requests", type=int, default=EXPLAIN_REQUESTS, help="sequential unfoldings measured alone, each"
    )
    parser.add_argument("--sizes-only", action="store_true", help="only issue 15's sizes, fresh forward and memory")
    parser.add_argument("--what-if-only", action="store_true", help="issue 15's figures and issue 16's what-if costs")
    parser.add_argument("--scrub-only", action="store_true", help="only issue 17's scrubbing costs")
    parser.add_argument("--train-only", action="store_true", help="only issue 17's live-training figures")
    args = parser.parse_args()

    rng = random.Random(0)
    load_before = os.getloadavg()[0]
    with serve("bench") as server:
        if args.train_only:
            return 0 if bench_train.report(asyncio.run(bench_train.measure(server.port))) else 1
        if args.scrub_only:
            return 0 if bench_checkpoints.report(asyncio.run(bench_checkpoints.measure(server.port))) else 1
        rss_kib = server.memory_kib()  # every model is loaded at start (app/main.py)
        found = asyncio.run(sizes(server.port))
        fresh = asyncio.run(fresh_forward(server.port))
        sizes_ok = report_sizes(server, found, fresh, rss_kib)
        if args.sizes_only:
            return 0 if sizes_ok else 1
        scrub_ok = bench_checkpoints.report(asyncio.run(bench_checkpoints.measure(server.port)))
        what_if_ok = bench_whatif.report(asyncio.run(bench_whatif.measure(server.port))) and scrub_ok
        if args.what_if_only:
            return 0 if what_if_ok else 1
        train_ok = bench_train.report(asyncio.run(bench_train.measure(server.port)))
        results = [asyncio.run(load(server.port, case, args.clients, args.seconds)) for case in cases(rng)]
        explains = unfoldings(rng, *asyncio.run(unfolding_inputs(server.port)))
        for name, _, make, _ in explains:  # under load, unbudgeted: a click on a number is no slider drag
            case = Case(name, make, p99_budget=False, unbudgeted="measured alone below (issue 14)")
            results.append(asyncio.run(load(server.port, case, args.clients, args.seconds)))
        worst: list[Alone] = []
        for name, what, make in worst_cases(rng, asyncio.run(vocab_sizes(server.port))):
            latencies, errors = asyncio.run(alone(server.port, make, ALONE_REQUESTS))
            worst.append((name, what, latencies, errors))
        unfolded: list[Unfolded] = []
        for name, what, make, p95_budget in explains:
            asyncio.run(unfolding_inputs(server.port))  # the pages' forward requests first, as on screen
            latencies, errors = asyncio.run(alone(server.port, make, args.explain_requests))
            unfolded.append((name, what, latencies, errors, p95_budget))
    loads = (load_before, os.getloadavg()[0])
    ok = report(server, results, worst, unfolded, args, loads) and sizes_ok and what_if_ok and train_ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
