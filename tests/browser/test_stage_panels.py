"""The stage panel, measured rather than assumed: at the three viewports that matter it fits the screen after every
clicker press; hovering or arrowing through a matrix lights the rows that made the cell; the map, the buttons, touch;
the translator's own translation; and an unknown word said in plain words beside the box that keeps it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.conftest import LOCAL_HOSTS, Guard, wait_for_state, walk_stages
from tests.browser.layout import clipped_labels, overlapping_labels, page_overflow

pytestmark = pytest.mark.browser

VIEWPORTS = [
    pytest.param(1920, 1080, "?present=1", id="1920x1080-present"),
    pytest.param(1366, 768, "", id="1366x768"),
    pytest.param(390, 844, "", id="390x844"),
]

# The box of #stage and the page's width, once the drawing has been laid out (two frames after data-rendered).
MEASURE = """async () => {
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  const r = document.getElementById("stage").getBoundingClientRect();
  return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: innerWidth, height: innerHeight,
    scrollWidth: document.scrollingElement.scrollWidth};
}"""


def _fits(page: Page, stage: int) -> list[str]:
    """What is wrong with the panel's place on screen at this stage (nothing: []); the page's width is `_too_wide`'s."""
    m = page.evaluate(MEASURE)
    wrong = []
    if m["top"] < 0 or m["left"] < 0:
        wrong.append(f"stage {stage}: the panel starts off screen (top {m['top']:.0f}, left {m['left']:.0f})")
    if m["bottom"] > m["height"] + 1 or m["right"] > m["width"] + 1:
        wrong.append(
            f"stage {stage}: the panel ends off screen (bottom {m['bottom']:.0f} of {m['height']}, "
            f"right {m['right']:.0f} of {m['width']})"
        )
    if m["scrollWidth"] > m["width"]:
        wrong.append(f"stage {stage}: the page is {m['scrollWidth']} px wide in a {m['width']} px viewport")
    return wrong


def _verdict(wrong: list[str]) -> None:
    """Fails on what is wrong, all of it said."""
    assert not wrong, "\n".join(wrong)


def _press_through(page: Page, first: int, last: int) -> list[str]:
    """ArrowRight from `first` (on screen) to `last`, measuring after every press."""
    wrong = []
    for stage in range(first + 1, last + 1):
        page.keyboard.press("ArrowRight")
        wait_for_state(page, stage=stage)
        wrong += _fits(page, stage)
    return wrong


def _part(page: Page, lane: str, part: str) -> None:
    page.locator(f'.map-lane[aria-label="{lane}"] .map-part', has_text=part).click()


@pytest.mark.parametrize(("width", "height", "query"), VIEWPORTS)
def test_every_gpt_stage_fits_the_screen_after_every_press(
    page: Page, server: str, width: int, height: int, query: str
) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{server}/models/tiny-gpt{query}")
    wait_for_state(page, stage=0)
    page.keyboard.press("ArrowRight")  # the first press scrolls the panel under the sticky bar
    wait_for_state(page, stage=1)
    wrong = _fits(page, 1) + _press_through(page, 1, len(walk_stages(server, "tiny-gpt")) - 1)
    _verdict(wrong)


@pytest.mark.parametrize(("width", "height", "query"), VIEWPORTS)
def test_the_translators_stages_fit_the_screen_after_every_press(
    page: Page, server: str, width: int, height: int, query: str
) -> None:
    stages = walk_stages(server, "tiny-translator")
    last = len(stages) - 1
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{server}/models/tiny-translator{query}")
    wait_for_state(page, stage=0)
    page.keyboard.press("ArrowRight")
    wait_for_state(page, stage=1)
    wrong = _fits(page, 1)
    if width == 1366:  # every stage once
        wrong += _press_through(page, 1, last)
    else:  # the first encoder block, the first decoder block and the last three stages
        encoder = [i for i, s in enumerate(stages) if s["group"] == "encoder · block 0"]
        decoder = [i for i, s in enumerate(stages) if s["group"] == "decoder · block 0"]
        wrong += _press_through(page, 1, encoder[-1])
        _part(page, "decoder", "block 0")
        wait_for_state(page, stage=decoder[0])
        wrong += _fits(page, decoder[0]) + _press_through(page, decoder[0], decoder[-1])
        _part(page, "decoder", "output")
        wait_for_state(page, stage=last - 2)
        wrong += _fits(page, last - 2) + _press_through(page, last - 2, last)
    _verdict(wrong)


def _cell_centre(page: Page, selector: str, row: int, column: int) -> tuple[float, float]:
    """Where cell (row, column) of a drawn heatmap is on the page, from the plot's own axes."""
    return page.evaluate(  # type: ignore[no-any-return]
        """([selector, row, column]) => {
          const div = document.querySelector(selector);
          const { xaxis, yaxis } = div._fullLayout;
          const box = div.getBoundingClientRect();
          return [box.left + xaxis._offset + xaxis.l2p(column), box.top + yaxis._offset + yaxis.l2p(row)];
        }""",
        [selector, row, column],
    )


def _row_lit(page: Page, selector: str, row: int) -> None:
    """Until the plot's shapes hold an orange rect over the whole of `row`."""
    page.wait_for_function(
        """([selector, row]) => (document.querySelector(selector).layout.shapes ?? []).some((s) =>
          s.type === "rect" && s.xref === "paper" && s.yref === "y" && s.y0 === row - 0.5 && s.y1 === row + 0.5)""",
        arg=[selector, row],
    )


def _cell_lit(page: Page, selector: str, row: int, column: int) -> None:
    page.wait_for_function(
        """([selector, row, column]) => (document.querySelector(selector).layout.shapes ?? []).some((s) =>
          s.xref === "x" && s.yref === "y" && s.y0 === row - 0.5 && s.x0 === column - 0.5)""",
        arg=[selector, row, column],
    )


def test_hovering_a_score_lights_its_query_row_and_key_row_and_the_arrows_move_it(page: Page, server: str) -> None:
    text = "the dogs that chased the cat"
    page.goto(f"{server}/models/tiny-gpt?stage=5")
    wait_for_state(page, text=text, stage=5)  # q·kᵀ: Q | K → raw scores
    scores, q, k = (
        '#stage-plots [data-role="raw scores"]',
        '#stage-plots [data-role="Q"]',
        '#stage-plots [data-role="K"]',
    )
    i, j = 3, 1
    page.mouse.move(*_cell_centre(page, scores, i, j))
    _row_lit(page, q, i)
    _row_lit(page, k, j)
    _cell_lit(page, scores, i, j)
    expect(page.locator("#cell-readout")).to_contain_text("raw scores, head 0 [3 chased, 1 dogs] = ")
    page.wait_for_url(f"**qi={i}&kj={j}**")  # a moment later, the URL holds the lit cell
    page.locator(scores).focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    _row_lit(page, q, i + 1)
    _row_lit(page, k, j + 1)
    _cell_lit(page, scores, i + 1, j + 1)
    wait_for_state(page, stage=5)  # the arrows in a matrix move the cell, not the walk

    page.goto(f"{server}/models/tiny-gpt?stage=9")
    wait_for_state(page, text=text, stage=9)  # heads: pattern | V → z
    pattern, v, z = (
        '#stage-plots [data-role="pattern"]',
        '#stage-plots [data-role="V"]',
        '#stage-plots [data-role="z"]',
    )
    i, j = 4, 2
    page.mouse.move(*_cell_centre(page, pattern, i, j))
    _cell_lit(page, pattern, i, j)
    _row_lit(page, v, j)  # the value row the weight multiplies
    _row_lit(page, z, i)  # the output row it goes into
    page.wait_for_url(f"**qi={i}&kj={j}**")


def test_every_head_lights_the_lines_of_the_word_in_focus(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-gpt?stage=8&head=1")
    wait_for_state(page, stage=8, head=1)
    expect(page.locator(".all-heads .plot")).to_have_count(4)
    page.locator('.head-view .head-word[data-i="2"]').first.focus()  # the query column comes first
    lit = page.locator(".head-view .head-line.lit")
    expect(lit.first).to_be_attached()
    assert set(lit.evaluate_all("lines => lines.map((l) => l.dataset.q)")) == {"2"}
    faded = page.locator(".head-view .head-line.faded").evaluate_all("lines => lines.map((l) => l.dataset.q)")
    assert faded
    assert "2" not in faded


def test_the_map_goes_to_a_part_or_a_stage_and_says_where_you_are(page: Page, server: str) -> None:
    stages = walk_stages(server, "tiny-gpt")
    page.goto(f"{server}/models/tiny-gpt")
    wait_for_state(page, stage=0)
    expect(page.locator(".map-part.here")).to_have_attribute("aria-current", "location")
    page.locator(".map-part", has_text="block 1").click()
    first = next(n for n, s in enumerate(stages) if s["group"] == "block 1")
    wait_for_state(page, stage=first)
    expect(page.locator(".map-part.here")).to_contain_text("block 1")
    expect(page.locator('.map-stage[aria-current="step"]')).to_have_text(stages[first]["label"])
    softmax = next(n for n, s in enumerate(stages) if s["group"] == "block 1" and s["label"] == "softmax")
    page.locator(".map-stages").get_by_role("button", name="softmax", exact=True).focus()
    page.keyboard.press("Enter")
    wait_for_state(page, stage=softmax)
    here = page.locator('.map-stage[aria-current="step"]')
    expect(here).to_have_count(1)
    expect(here).to_have_text("softmax")
    expect(here).to_have_class(re.compile(r"\bhere\b"))
    expect(page.locator("#stage-title")).to_have_text("block 1 · softmax")


def test_the_next_and_previous_buttons_move_the_stage(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-gpt?stage=3")
    wait_for_state(page, stage=3)
    page.locator("#next").click()
    wait_for_state(page, stage=4)
    page.locator("#prev").click()
    page.locator("#prev").click()
    wait_for_state(page, stage=2)
    expect(page.locator("#stage-count")).to_have_text(f"3 / {len(walk_stages(server, 'tiny-gpt'))}")


@contextmanager
def _touch_page(browser: Browser, guard: Guard) -> Iterator[Page]:
    """A phone: touch, 390×844, guarded as the `page` fixture's pages are."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    page = context.new_page()
    page.on("console", lambda m: guard.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: guard.page_errors.append(str(e)))

    def offline(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            guard.external_requests.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", offline)
    try:
        yield page
    finally:
        context.close()


def test_on_a_phone_tapping_next_and_previous_moves_the_stage(browser: Browser, guard: Guard, server: str) -> None:
    with _touch_page(browser, guard) as page:
        page.goto(f"{server}/models/tiny-translator")
        wait_for_state(page, stage=0)
        page.tap("#next")
        wait_for_state(page, stage=1)
        page.tap("#next")
        wait_for_state(page, stage=2)
        page.tap("#prev")
        wait_for_state(page, stage=1)
        expect(page.locator("#stage-count")).to_have_text(f"2 / {len(walk_stages(server, 'tiny-translator'))}")
    assert guard.problems() == []


def test_the_translator_opens_on_its_own_whole_translation(page: Page, server: str) -> None:
    src = "the black cat sleeps ."
    answer = httpx.post(f"{server}/api/models/tiny-translator/generate", json={"prompt": src, "temperature": 0})
    french = answer.json()["text"]
    page.goto(f"{server}/models/tiny-translator")
    wait_for_state(page, src=src, tgt=french)
    expect(page.locator("#target")).to_have_value(french)
    _part(page, "decoder", "block 0")
    wait_for_state(
        page,
        stage=next(
            n for n, s in enumerate(walk_stages(server, "tiny-translator")) if s["group"] == "decoder · block 0"
        ),
    )
    rows = page.evaluate("() => document.querySelector('#stage-plots .plot').data[0].y")
    words = french.split()
    assert rows[1:-1] == [f"{n} {word} → {after}" for n, (word, after) in enumerate(itertools.pairwise(words), start=1)]
    assert rows[1] == "1 le → chat"


def test_an_unknown_word_is_said_plainly_and_the_text_stays(page: Page, server: str, guard: Guard) -> None:
    guard.expect_console_error("status of 422")  # Chromium logs the refused request
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{server}/models/tiny-gpt?stage=12")
    wait_for_state(page, stage=12)
    page.locator("#text").fill("the unicorn")
    page.locator("#text").press("Enter")
    error = page.locator("#error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("The model does not know the word “unicorn”")  # in a student's words first
    box = error.bounding_box()
    assert box is not None
    assert box["y"] >= 0
    assert box["y"] + box["height"] <= 768
    assert box["x"] + box["width"] <= 1366
    expect(page.locator("#text")).to_have_value("the unicorn")
    wait_for_state(page, text="the dogs that chased the cat", stage=12)  # the plots stay on the text they show


SCREEN_CHANGES = {
    "projector to a smaller one": ((1920, 1080), (1600, 900), "&present=1"),
    "big screen to laptop": ((1920, 1080), (1366, 768), ""),
    "laptop to phone": ((1366, 768), (390, 844), ""),
}


@pytest.mark.parametrize("change", SCREEN_CHANGES)
@pytest.mark.parametrize("stage", ["next word", "every head", "layer norm"])
def test_a_new_screen_size_lays_the_panel_out_again(page: Page, server: str, stage: str, change: str) -> None:
    """How the panel's plots share the width was decided for the old one: at the new size they are drawn again,
    their labels whole and no error logged (the guard fails the test on any console error)."""
    (width, height), (new_width, new_height), query = SCREEN_CHANGES[change]
    n = next(i for i, s in enumerate(walk_stages(server, "tiny-gpt")) if s["label"] == stage)
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{server}/models/tiny-gpt?stage={n}{query}")
    wait_for_state(page, stage=n)
    page.set_viewport_size({"width": new_width, "height": new_height})
    page.wait_for_timeout(400)  # the panel waits for the resizing to settle before it draws again
    page.wait_for_function(  # every plot of the panel drawn at its box's new width
        "() => [...document.querySelectorAll('#stage-plots .js-plotly-plot')]"
        ".every((plot) => plot._fullLayout && Math.abs(plot._fullLayout.width - plot.clientWidth) <= 1)"
    )
    assert clipped_labels(page) == []
    assert overlapping_labels(page) == []
    assert page_overflow(page) == 0
