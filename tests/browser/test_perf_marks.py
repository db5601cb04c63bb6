"""The performance marks `make bench` reads (static/js/core/perf.js) exist on every page kind and come in order, and a
model page loads in the order that keeps its first render fast (its API requests before Plotly runs, every module
preloaded).

Nothing here is timed: these tests only prove that the browser bench has something real to measure.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

# One model of each family, its main slider, and a value to move it to.
PAGES = [
    ("sqrt-mlp-2x2", "#x-slider", "7.5"),
    ("textnet-2d-sgd", "#temperature", "70"),
    ("tiny-gpt", "#temperature", "70"),
    ("tiny-translator", "#temperature", "70"),
]

# Records every mark and measure from now on, even one the page clears later (perf.js clears answered inputs).
RECORD = """() => {
  window.recorded = [];
  const keep = (e) => ({ name: e.name, start: e.startTime, end: e.startTime + e.duration });
  new PerformanceObserver((list) => window.recorded.push(...list.getEntries().map(keep)))
    .observe({ entryTypes: ["mark", "measure"] });
}"""


def _entries(page: Page, name: str) -> list[dict[str, Any]]:
    script = (
        "(n) => performance.getEntriesByName(n).map((e) => ({ start: e.startTime, end: e.startTime + e.duration }))"
    )
    return page.evaluate(script, name)  # type: ignore[no-any-return]


@pytest.mark.parametrize(("model_id", "slider", "value"), PAGES)
def test_the_first_render_and_a_slider_move_leave_ordered_marks(
    page: Page, server: str, model_id: str, slider: str, value: str
) -> None:
    page.goto(f"{server}/models/{model_id}")
    page.wait_for_function("() => performance.getEntriesByName('layerwalk:first-render').length > 0")
    [first] = _entries(page, "layerwalk:first-render")
    html_done = page.evaluate("() => performance.getEntriesByType('navigation')[0].responseEnd")
    assert 0 < html_done < first["start"]  # after navigation start, and after the page itself arrived
    assert _entries(page, "layerwalk:rendered")[0]["start"] == first["start"]

    page.evaluate(RECORD)
    page.locator(slider).fill(value)  # the page's own input handler, as a hand on the slider would
    page.wait_for_function("() => window.recorded.some((e) => e.name === 'layerwalk:input-to-render')")
    recorded: list[dict[str, Any]] = page.evaluate("() => window.recorded")
    [moved] = [e for e in recorded if e["name"] == "layerwalk:input"]
    [redrawn] = [e for e in recorded if e["name"] == "layerwalk:rendered"]
    [measure] = [e for e in recorded if e["name"] == "layerwalk:input-to-render"]
    assert first["start"] < moved["start"] < redrawn["start"]
    assert (measure["start"], measure["end"]) == pytest.approx((moved["start"], redrawn["start"]))
    assert len(_entries(page, "layerwalk:first-render")) == 1  # a redraw is not a first render


# The first API request of the page, and every module it fetched (ms since navigation start; absolute URLs).
FIRST_REQUEST = """() => Math.min(...performance.getEntriesByType("resource")
  .filter((e) => e.initiatorType === "fetch" && new URL(e.name).pathname.startsWith("/api/"))
  .map((e) => e.startTime))"""
MODULES = """() => performance.getEntriesByType("resource").map((e) => e.name)
  .filter((n) => n.includes("/static/js/"))"""
ANNOUNCED = """() => [...document.querySelectorAll("link[rel=modulepreload], script[type=module]")]
  .map((e) => e.href || e.src)"""


@pytest.mark.parametrize("model_id", [model_id for model_id, _, _ in PAGES])
def test_the_page_asks_the_api_before_plotly_runs_and_announces_every_module(
    page: Page, server: str, model_id: str
) -> None:
    page.goto(f"{server}/models/{model_id}")
    page.wait_for_function("() => performance.getEntriesByName('layerwalk:first-render').length > 0")
    [plotly] = _entries(page, "layerwalk:plotly-ready")
    assert page.evaluate(FIRST_REQUEST) < plotly["start"]  # the module ran first and sent its requests, then Plotly ran
    modules = page.evaluate(MODULES)
    assert modules
    assert set(modules) <= set(page.evaluate(ANNOUNCED))  # every import is preloaded (templates/_partials.html)


def test_the_gallery_has_no_plot_and_so_no_render_marks(page: Page, server: str) -> None:
    page.goto(server)
    page.wait_for_function("() => performance.getEntriesByName('first-contentful-paint').length > 0")
    assert _entries(page, "layerwalk:first-render") == []  # the bench times it by its first paint instead
