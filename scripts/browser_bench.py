"""The browser bench: how fast each page draws, answers its slider, and how much it loads before it draws.

Starts the server with the production command on a free loopback port and drives the system Chromium (headless,
through Playwright) over the gallery and every model page. The times are read from the page's own performance
marks (static/js/core/perf.js), so they measure the app's real path: navigation start to the page's first drawn state,
and a slider's input event to the redrawn plots, API round trip included. Page weight is read from the page's
Resource Timing: every response that finished before that first state was drawn.

Only 127.0.0.1 is reachable: Chromium is given a proxy that does not exist (loopback bypasses it), so any other
request fails in the browser, and the bench reports it. It is not a test: it prints figures, budgets and pass or
fail, and exits non-zero on a missed budget only with --strict (always when a page could not be measured).
"""

from __future__ import annotations

import argparse
import gzip
import math
import os
import shutil
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypedDict
from urllib.parse import urlsplit

import httpx
from loopback import HOST, serve
from playwright.sync_api import Browser, BrowserContext, Page, Request, Response, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

ROOT = Path(__file__).parents[1]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
RENDER_BUDGET_MS = 1000.0  # navigation start to the first drawn state, p95 of the cold loads
MOVE_BUDGET_MS = 100.0  # slider input to the redrawn plots, p95; and a hover to the lit cells, p95
WEIGHT_BUDGET_BYTES = 2_000_000  # bytes sent to the browser before the first drawn state
TIMEOUT_MS = 15_000  # any one wait in the browser
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Nothing listens on port 9: every request to a host other than loopback (which Chromium never proxies) fails
    # there, IP literals included. Playwright's request interception could block them too, but it turns the HTTP
    # cache off (every warm load would be a cold one) and passes each request through this process.
    "--proxy-server=http://127.0.0.1:9",
]

# Read in the page after it has drawn: its marks, navigation and resource timing (ms since navigation start).
TIMINGS_JS = """() => {
  const first = performance.getEntriesByName("layerwalk:first-render")[0];
  const plotly = performance.getEntriesByName("layerwalk:plotly-ready")[0];
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  const nav = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource");
  const entry = (e, kind) => ({ url: e.name, kind, end: e.responseEnd, sent: e.transferSize,
    encoded: e.encodedBodySize, raw: e.decodedBodySize });
  const drawn = first ? first.startTime : Infinity;
  const api = resources.filter((e) => e.initiatorType === "fetch" && e.responseEnd <= drawn);
  return { first: first ? first.startTime : null, fcp: fcp ? fcp.startTime : null, load: nav.loadEventEnd,
    plotly: plotly ? plotly.startTime : null,
    api_start: api.length ? Math.min(...api.map((e) => e.startTime)) : null,
    api_end: api.length ? Math.max(...api.map((e) => e.responseEnd)) : null,
    responses: [entry(nav, "navigation"), ...resources.map((e) => entry(e, "resource"))] };
}"""

# Moves the page's slider one step at a time, each after the previous redraw has been painted; returns the
# layerwalk:input-to-render measure of each move, and how much of it was spent waiting for the API (from the input
# to the last response). Dispatching the input event here runs the page's own handler.
MOVES_JS = """async ({ moves, timeout }) => {
  const slider = document.querySelector("#page input[type=range]");
  if (!slider) return { slider: null, durations: [], api: [] };
  const lo = Number(slider.min), hi = Number(slider.max), step = Number(slider.step) || 1;
  const measures = () => performance.getEntriesByName("layerwalk:input-to-render");
  const durations = [], api = [];
  for (let i = 1; i <= moves; i++) {
    const value = lo + Math.round((((i * 0.6180339887) % 1) * (hi - lo)) / step) * step; // spread, never repeated
    const before = measures().length;
    const drawn = new Promise((resolve, reject) => {
      const fail = () => reject(new Error(`no redraw ${timeout} ms after moving #${slider.id} to ${value}`));
      const timer = setTimeout(fail, timeout);
      const observer = new PerformanceObserver(() => {
        if (measures().length > before) { observer.disconnect(); clearTimeout(timer); resolve(); }
      });
      observer.observe({ type: "measure" });
    });
    performance.clearResourceTimings(); // its buffer holds 250 entries
    slider.value = String(value);
    slider.dispatchEvent(new Event("input", { bubbles: true }));
    await drawn;
    const move = measures().at(-1);
    const ends = performance.getEntriesByType("resource").filter((e) => e.initiatorType === "fetch"
      && e.startTime >= move.startTime && e.responseEnd <= move.startTime + move.duration).map((e) => e.responseEnd);
    durations.push(move.duration);
    api.push(ends.length ? Math.max(...ends) - move.startTime : 0);
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0))); // the frame is painted
  }
  return { slider: slider.id, durations, api };
}"""


# Where the cells of the stage panel's result matrix are on screen: the centre of each, in page pixels.
CELLS_JS = """() => {
  const div = document.querySelector("#stage-plots .panel-result .js-plotly-plot");
  if (!div) return [];
  const box = div.querySelector(".nsewdrag").getBoundingClientRect();
  const z = div.data[0].z, n = z.length, m = z[0].length;
  const cells = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++)
    cells.push([box.left + (j + 0.5) * box.width / m, box.top + (i + 0.5) * box.height / n]);
  return cells;
}"""
HOVERS_JS = '() => performance.getEntriesByName("layerwalk:hover-to-lit").map((e) => e.duration)'


class NotMeasuredError(Exception):
    """A page did not give the bench what it measures."""


class OutOfTimeError(Exception):
    """The bench passed --max-seconds: it starts no more loads."""


class Entry(TypedDict):
    url: str
    kind: str
    end: float
    sent: int
    encoded: int
    raw: int


class Timings(TypedDict):
    first: float | None
    fcp: float | None
    load: float
    plotly: float | None  # Plotly has been run (static/js/views/plotly.js)
    api_start: float | None  # the first API request of the page (its module has started)
    api_end: float | None  # the last API response before the first render
    responses: list[Entry]


@dataclass
class Weight:
    """Bytes of the responses that finished before the page's first drawn state, by kind."""

    sent: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # as transferred, headers included
    raw: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # bodies, uncompressed
    gzipped: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # bodies, gzip -6 by this script
    count: int = 0
    compressed: bool = False  # did any response come with a Content-Encoding?


@dataclass
class PageResult:
    path: str
    cold_ms: list[float] = field(default_factory=list)  # navigation start to the first drawn state
    cold_api_start_ms: list[float] = field(default_factory=list)  # ... to the page's first API request
    cold_plotly_ms: list[float] = field(default_factory=list)  # ... to Plotly having been run
    cold_api_end_ms: list[float] = field(default_factory=list)  # ... to its last API response before drawing
    warm_ms: list[float] = field(default_factory=list)
    slider: str | None = None
    move_ms: list[float] = field(default_factory=list)  # slider input to the redrawn state
    move_api_ms: list[float] = field(default_factory=list)  # ... of which until the last API response
    hover_ms: list[float] = field(default_factory=list)  # a mouse move over a panel's cell to the lit frame
    weight: Weight | None = None
    problems: list[str] = field(default_factory=list)
    failed: bool = False


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def kind_of(entry: Entry) -> str:
    path = urlsplit(entry["url"]).path
    if entry["kind"] == "navigation":
        return "HTML"
    if "/vendor/plotly" in path:
        return "Plotly"
    if path.endswith(".js"):
        return "JS"
    if path.endswith(".css"):
        return "CSS"
    if path.startswith("/api/") or path.endswith(".json"):
        return "JSON"
    return "other"


def chromium_path() -> str | None:
    """$LAYERWALK_CHROMIUM, else a system Chromium (as the browser tests find it)."""
    if os.environ.get("LAYERWALK_CHROMIUM"):
        return os.environ["LAYERWALK_CHROMIUM"]
    return next(
        (found for name in ("chromium", "chromium-browser", "google-chrome") if (found := shutil.which(name))), None
    )


class Bench:
    def __init__(self, browser: Browser, server: str, deadline: float) -> None:
        self.browser = browser
        self.server = server
        self.deadline = deadline

    def context(self, result: PageResult) -> BrowserContext:
        if time.monotonic() > self.deadline:
            raise OutOfTimeError("the bench ran out of time (--max-seconds)")
        context = self.browser.new_context(viewport={"width": 1400, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)

        def off_server(request: Request) -> None:
            if urlsplit(request.url).hostname not in LOCAL_HOSTS and not request.url.startswith(("data:", "blob:")):
                result.problems.append(f"requested off the server (and failed): {request.url}")

        context.on("request", off_server)
        context.on("weberror", lambda e: result.problems.append(f"page error: {e.error}"))
        return context

    def load(self, page: Page, result: PageResult) -> Timings:
        """Navigate and wait until the page has drawn (a model page's first state; the gallery's first paint)."""
        page.goto(f"{self.server}{result.path}", wait_until="commit")
        if result.path == "/":  # no plots: its text is the render, and the weight is everything up to load
            page.wait_for_function(
                "() => performance.getEntriesByName('first-contentful-paint').length > 0"
                " && performance.getEntriesByType('navigation')[0].loadEventEnd > 0"
            )
        else:
            try:
                page.wait_for_function("() => performance.getEntriesByName('layerwalk:first-render').length > 0")
            except PlaywrightTimeoutError:
                raise NotMeasuredError(
                    f"no layerwalk:first-render mark {TIMEOUT_MS} ms after navigation start (did the page fail, or "
                    "not set body[data-rendered]? is static/js/core/perf.js loaded?)"
                ) from None
        timings: Timings = page.evaluate(TIMINGS_JS)
        return timings

    @staticmethod
    def drawn_at(result: PageResult, timings: Timings) -> float:
        value = timings["fcp"] if result.path == "/" else timings["first"]
        assert value is not None  # waited for above
        return value

    def run(self, result: PageResult, step: Callable[[], None]) -> bool:
        """One step of a page's figures, a failure noted (the page is skipped after); False when out of time."""
        if result.failed:
            return True
        try:
            step()
        except (PlaywrightError, NotMeasuredError) as error:
            result.problems.append(f"not measured: {str(error).splitlines()[0]}")
            result.failed = True
        except OutOfTimeError as error:
            result.problems.append(f"not measured: {error}")
            return False
        return True

    def cold_load(self, result: PageResult, weigh: bool) -> None:
        """A new context, with the HTTP cache turned off: nothing is reused but the browser process. The bytes are
        the same every time, so one load is enough to weigh them."""
        context = self.context(result)
        try:
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
            responses: list[Response] = []
            if weigh:
                page.on("response", lambda response: responses.append(response))
            timings = self.load(page, result)
            result.cold_ms.append(self.drawn_at(result, timings))
            if timings["api_start"] is not None and timings["api_end"] is not None:
                result.cold_api_start_ms.append(timings["api_start"])
                result.cold_api_end_ms.append(timings["api_end"])
            if timings["plotly"] is not None:
                result.cold_plotly_ms.append(timings["plotly"])
            if weigh:
                result.weight = self.weight(result, timings, responses)
        finally:
            context.close()

    def warm(self, result: PageResult, runs: int, moves: int) -> None:
        """One context: a first load fills its cache, then `runs` loads from it; then the slider, on the last one."""
        context = self.context(result)
        try:
            page = context.new_page()
            self.load(page, result)
            for _ in range(runs):
                result.warm_ms.append(self.drawn_at(result, self.load(page, result)))
            if result.path != "/" and moves > 0:
                page.wait_for_function("() => !document.querySelector('#page input[type=range]')?.disabled")
                out = page.evaluate(MOVES_JS, {"moves": moves, "timeout": TIMEOUT_MS})
                result.slider = out["slider"]
                result.move_ms = [float(d) for d in out["durations"]]
                result.move_api_ms = [float(d) for d in out["api"]]
                self.hovers(page, result, moves)
        finally:
            context.close()

    def hovers(self, page: Page, result: PageResult, moves: int) -> None:
        """On a page with stage panels: the mouse over the cells of the first attention scores, one at a time."""
        detail = httpx.get(f"{self.server}/api{result.path}", timeout=5).json()
        stages = [s["label"] for s in detail.get("stages", [])]
        if "q·kᵀ" not in stages:
            return
        page.goto(f"{self.server}{result.path}?stage={stages.index('q·kᵀ')}", timeout=TIMEOUT_MS)
        page.wait_for_function("() => document.body.dataset.rendered", timeout=TIMEOUT_MS)
        cells = page.evaluate(CELLS_JS)
        for n in range(moves):
            x, y = cells[(n * 7) % len(cells)]  # a new cell each time
            page.mouse.move(x, y)
            page.wait_for_function(f"() => ({HOVERS_JS})().length > {n}", timeout=TIMEOUT_MS)
            page.mouse.move(1, 1)  # off the plot, so the next move is a new hover
        result.hover_ms = [float(d) for d in page.evaluate(HOVERS_JS)]

    def weight(self, result: PageResult, timings: Timings, responses: list[Response]) -> Weight:
        drawn = timings["load"] if result.path == "/" else self.drawn_at(result, timings)
        bodies: dict[str, list[Response]] = defaultdict(list)  # by URL, in request order
        for response in responses:
            bodies[response.url].append(response)
        weight = Weight()
        for entry in sorted(timings["responses"], key=lambda e: e["end"]):
            if entry["end"] > drawn:
                continue
            kind = kind_of(entry)
            weight.count += 1
            weight.sent[kind] += entry["sent"]
            weight.raw[kind] += entry["raw"]
            if bodies[entry["url"]]:
                response = bodies[entry["url"]].pop(0)
                weight.compressed |= "content-encoding" in response.headers
                weight.gzipped[kind] += len(gzip.compress(response.body(), compresslevel=6))
            else:  # Playwright saw no response (cannot happen for a same-origin load): count it as is
                weight.gzipped[kind] += entry["raw"]
        return weight


def ms(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} / {percentile(values, 95):,.0f}" if values else "—"


def median(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f}" if values else "—"


def verdict(ok: bool) -> str:
    return "pass" if ok else "**FAIL**"


def report(results: list[PageResult], args: argparse.Namespace) -> bool:
    """Prints the tables; returns whether every budget was met."""
    ok = True
    print(f"\n### Time: median / p95 in ms ({args.cold} cold loads, {args.warm} warm, {args.moves} slider moves)\n")
    print(
        f"| page | first render, cold | ≤ {RENDER_BUDGET_MS:,.0f} (p95) | warm | slider | slider → redraw "
        f"| ≤ {MOVE_BUDGET_MS:,.0f} (p95) |"
    )
    print("| --- | ---: | --- | ---: | --- | ---: | --- |")
    for r in results:
        render_ok = bool(r.cold_ms) and percentile(r.cold_ms, 95) <= RENDER_BUDGET_MS
        ok &= render_ok
        if r.path == "/":
            moves = "| — | — | |"
        else:
            move_ok = bool(r.move_ms) and percentile(r.move_ms, 95) <= MOVE_BUDGET_MS
            ok &= move_ok
            moves = f"| {r.slider or '—'} | {ms(r.move_ms)} | {verdict(move_ok)} |"
        print(f"| {r.path} | {ms(r.cold_ms)} | {verdict(render_ok)} | {ms(r.warm_ms)} {moves}")

    print(f"\n### Hover → lit cells and rows of a stage panel, ms ({args.moves} cells; ≤ {MOVE_BUDGET_MS:,.0f} p95)\n")
    print("| page | hover → lit, median / p95 | |")
    print("| --- | ---: | --- |")
    for r in results:
        if r.hover_ms:
            hover_ok = percentile(r.hover_ms, 95) <= MOVE_BUDGET_MS
            ok &= hover_ok
            print(f"| {r.path} | {ms(r.hover_ms)} | {verdict(hover_ok)} |")

    print("\n### Where the time goes: medians in ms\n")
    print(
        "| page | cold: first API request | Plotly run | last API response | drawing after both | slider: API round "
        "trip | drawing |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        if r.path == "/":
            continue
        both = [max(p, end) for p, end in zip(r.cold_plotly_ms, r.cold_api_end_ms, strict=False)]
        drawing = [total - ready for total, ready in zip(r.cold_ms, both, strict=False)]
        move_drawing = [total - api for total, api in zip(r.move_ms, r.move_api_ms, strict=True)]
        print(
            f"| {r.path} | {median(r.cold_api_start_ms)} | {median(r.cold_plotly_ms)} | {median(r.cold_api_end_ms)} "
            f"| {median(drawing)} | {median(r.move_api_ms)} | {median(move_drawing)} |"
        )
    print(
        "\nCold columns are times since navigation start: the page's first API request (its module has started), "
        "Plotly having been run, the last API response before the first render, and the first render after the later "
        "of those two."
    )

    kinds = ["HTML", "CSS", "JS", "Plotly", "JSON", "other"]
    print(
        f"\n### Bytes before the first render, in KB (1,000 bytes); budget ≤ {WEIGHT_BUDGET_BYTES / 1000:,.0f} KB "
        "as sent\n"
    )
    print(f"| page | responses | {' | '.join(kinds)} | sent | uncompressed | gzip -6 | compressed? | |")
    print(f"| --- | ---: | {' | '.join('---:' for _ in kinds)} | ---: | ---: | ---: | --- | --- |")
    for r in results:
        w = r.weight
        if w is None:
            ok = False
            print(f"| {r.path} | not measured | {' | '.join('' for _ in kinds)} | | | | | **FAIL** |")
            continue
        sent, raw, zipped = sum(w.sent.values()), sum(w.raw.values()), sum(w.gzipped.values())
        weight_ok = sent <= WEIGHT_BUDGET_BYTES
        ok &= weight_ok
        cells = " | ".join(f"{w.sent[k] / 1000:,.1f}" for k in kinds)
        print(
            f"| {r.path} | {w.count} | {cells} | {sent / 1000:,.1f} | {raw / 1000:,.1f} | {zipped / 1000:,.1f} "
            f"| {'yes' if w.compressed else 'no'} | {verdict(weight_ok)} |"
        )
    print(
        "\nThe gallery has no plot: its render is its first contentful paint, its weight everything up to load. "
        "Sent counts headers too; gzip -6 is what this script gets compressing each body."
    )
    return ok


def _load() -> str:
    """The machine's 1-minute load average: the browser, the server and anything else share its cores."""
    return f"{os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=5, help="cold loads per page (a new context, no HTTP cache)")
    parser.add_argument("--warm", type=int, default=3, help="warm reloads per page (the same context and cache)")
    parser.add_argument("--moves", type=int, default=40, help="slider moves per model page")
    parser.add_argument("--max-seconds", type=float, default=170, help="stop starting new loads after this long")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a budget is missed")
    args = parser.parse_args()

    started = time.monotonic()
    load_before = _load()
    with serve("browser_bench") as running, sync_playwright() as playwright:
        server, ready_s = f"http://{HOST}:{running.port}", running.ready_s
        ids = [m["id"] for m in httpx.get(f"{server}/api/models", timeout=5).json()]
        results = [PageResult("/"), *(PageResult(f"/models/{i}") for i in ids)]
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            bench = Bench(browser, server, started + args.max_seconds)
            warm_up = PageResult("/")  # one unreported load first: Chromium's own start-up is no page's cost
            bench.run(warm_up, partial(bench.warm, warm_up, 0, 0))
            # Cold loads go round the pages, so that a change in the machine's load falls on every page alike.
            steps = [(r, partial(bench.cold_load, r, weigh=run == 0)) for run in range(args.cold) for r in results]
            steps += [(r, partial(bench.warm, r, args.warm, args.moves)) for r in results]
            for result, step in steps:
                if not bench.run(result, step):
                    break
        finally:
            browser.close()
    print(f"\nserver ready {ready_s:.2f} s after start; load average before {load_before}, after {_load()}")
    met = report(results, args)
    problems = [f"{r.path}: {p}" for r in [warm_up, *results] for p in r.problems]
    for problem in problems:
        print(f"PROBLEM {problem}")
    print(f"\n{time.monotonic() - started:.0f} s in all; budgets {'met' if met else 'MISSED'}")
    if problems or any(not r.cold_ms or (r.path != "/" and not r.move_ms) for r in results):
        return 1
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    raise SystemExit(main())
