"""Every served model's page fits a laptop (1366×768), a projector in presentation mode (1920×1080, ?present=1) and a
phone (390×844): the page is no wider than the screen, no label of a plot overlaps another or is cut by its plot, and
nothing covers the sticky input bar once the page is scrolled.
The GPT page is checked again at every stage of its walk, stepped with the clicker's key. One browser context per
screen is reused for every page, so that the whole file runs in about a minute."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route

from models.registry import Registry
from tests.browser.conftest import LOCAL_HOSTS, wait_for_state
from tests.browser.layout import clipped_labels, covered_controls, overlapping_labels, page_overflow

pytestmark = pytest.mark.browser
SCREENS = {"1366x768": (1366, 768, ""), "1920x1080-present": (1920, 1080, "?present=1"), "390x844": (390, 844, "")}
PAGES = [f"/models/{model_id}" for model_id in Registry().ids()]


@pytest.fixture(scope="module", params=list(SCREENS))
def screen(request: pytest.FixtureRequest, browser: Browser) -> Iterator[tuple[Page, str, list[str]]]:
    """A page at one screen size, its query string (presentation mode or none) and what it logged as errors."""
    width, height, query = SCREENS[request.param]
    context = browser.new_context(viewport={"width": width, "height": height})
    errors: list[str] = []

    def offline(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            errors.append(f"request off the server: {route.request.url}")
            route.abort("internetdisconnected")

    context.route("**/*", offline)
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page, query, errors
    context.close()


def _problems(page: Page) -> list[str]:
    overflow = page_overflow(page)
    wider = [f"the page is {overflow} px wider than the screen"] if overflow > 0 else []
    return wider + overlapping_labels(page) + clipped_labels(page)


@pytest.mark.parametrize("path", PAGES)
def test_a_model_page_fits_the_screen_and_no_plot_label_overlaps_or_is_cut(
    screen: tuple[Page, str, list[str]], server: str, path: str
) -> None:
    page, query, errors = screen
    page.goto(f"{server}{path}{query}")
    page.wait_for_selector("body[data-rendered]", state="attached")
    assert _problems(page) == []
    page.mouse.wheel(0, 1500)  # the sticky input bar at the top of the screen: nothing drawn over its inputs
    page.wait_for_function("() => scrollY > 0")
    assert covered_controls(page) == []
    assert errors == []


def test_every_stage_of_the_gpt_walk_fits_the_screen_with_readable_plots(
    screen: tuple[Page, str, list[str]], server: str
) -> None:
    page, query, errors = screen
    stages = len(httpx.get(f"{server}/api/models/tiny-gpt").json()["stages"])
    page.goto(f"{server}/models/tiny-gpt{query}")
    wait_for_state(page, stage=0)
    found = {0: _problems(page)}
    page.locator("body").click(position={"x": 1, "y": 1})  # the keys go to the page, not to an input
    for stage in range(1, stages):
        page.keyboard.press("ArrowRight")
        wait_for_state(page, stage=stage)
        found[stage] = _problems(page)
    assert {stage: problems for stage, problems in found.items() if problems} == {}
    assert errors == []


def test_highlight_lights_rows_columns_and_cells_with_shapes_alone_keeping_the_others(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-gpt?stage=7")
    wait_for_state(page, stage=7)
    lit = page.evaluate("""async () => {
      const { highlight } = await import('/static/js/views/heatmap.js');
      const plot = document.querySelector('#stage-plots .plot');
      const other = { type: 'line', name: 'the page own', x0: 0, x1: 1, y0: 0, y1: 1 };
      await Plotly.relayout(plot, { shapes: [other] });
      const cells = plot.querySelector('.hm image').getAttribute('href');
      const start = performance.now();
      await highlight(plot, { rows: [1], cols: [2], cells: [[3, 4]] });
      const ms = performance.now() - start;
      const shapes = plot.layout.shapes.map((s) => [s.name, s.xref, s.x0, s.x1, s.yref, s.y0, s.y1]);
      const redrawn = plot.querySelector('.hm image').getAttribute('href') !== cells;
      await highlight(plot, {});
      return { ms, shapes, redrawn, after: plot.layout.shapes.map((s) => s.name) };
    }""")
    assert lit["shapes"] == [
        ["the page own", None, 0, 1, None, 0, 1],
        ["layerwalk-highlight", "paper", 0, 1, "y", 0.5, 1.5],  # row 1
        ["layerwalk-highlight", "x", 1.5, 2.5, "paper", 0, 1],  # column 2
        ["layerwalk-highlight", "x", 3.5, 4.5, "y", 2.5, 3.5],  # the cell in row 3, column 4
    ]
    assert not lit["redrawn"]  # the cells' image is the one drawn before
    assert lit["ms"] < 100
    assert lit["after"] == ["the page own"]


def test_a_word_in_angle_brackets_shows_as_written_on_the_axes(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-translator")
    page.wait_for_selector("body[data-rendered]", state="attached")
    rows = page.locator("#plot-align .ytick text").all_text_contents()  # each French row: the word read → predicted
    assert [row for row in rows if row.startswith("0 <s> → ")]
    assert [row for row in rows if row.endswith(" → </s>")]
