"""Every number unfolds on every page (views/unfold.js): the MLP's and the text net's numbers are buttons (trace,
tables), their neurons and weight cells click, and every page's next-word bars unfold; each drawer ends in the very
number the page shows, Escape closes it and gives the focus back, and the URL holds it. A phone shows it as a sheet
inside the screen.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import stage_index, wait_for_state
from tests.browser.test_stage_panels import _cell_centre

pytestmark = pytest.mark.browser


def _shown(page: Page, ux: str) -> None:
    """Until the drawer shows the server's answer for `ux`."""
    page.wait_for_function("(ux) => document.getElementById('unfold').dataset.shown === ux", arg=ux)


def _bar_centre(page: Page, selector: str, panel: str, bar: int) -> tuple[float, float]:
    """Where bar `bar` of a next-word chart's `panel` (logits, scaled, probs) is on the page, from its own axes."""
    return page.evaluate(  # type: ignore[no-any-return]
        """([selector, panel, bar]) => {
          const div = document.querySelector(selector);
          const trace = div._fullData.find((t) => t.name === panel);
          const axis = (id) => div._fullLayout[id.replace(/^([xy])/, "$1axis")];
          const [x, y] = [axis(trace.xaxis), axis(trace.yaxis)];
          const box = div.getBoundingClientRect();
          return [box.left + x._offset + x.l2p(bar), box.top + y._offset + y.l2p(trace.y[bar] / 2)];
        }""",
        [selector, panel, bar],
    )


def _four(value: float) -> str:
    """A number as the drawer writes it: 4 decimals, a tiny one in exponent form, a true minus."""
    text = f"{value:.1e}".replace("e-0", "e-") if value != 0 and abs(value) < 5e-4 else f"{value:.4f}"
    return text.replace("-", "−")


def _title_and_total(page: Page) -> tuple[str, str]:
    return page.locator("#unfold-title").inner_text(), page.locator("#unfold-total").inner_text()


def test_the_mlp_unfolds_a_table_number_a_neuron_and_a_weight(page: Page, server: str) -> None:
    page.goto(f"{server}/models/sqrt-mlp-2x2?x=4")
    wait_for_state(page, x=4)
    z = page.locator('#layers button[data-ux="layers.1.hook_z:0"]').last  # the z column of layer 2's table
    shown = z.inner_text()
    z.click()
    _shown(page, "layers.1.hook_z:0")
    expect(page.locator("#unfold-title")).to_have_text(f"z2[0] = {shown.replace('-', '−')}")
    expect(page.locator("#unfold-total")).to_have_text(shown.replace("-", "−"))
    terms = page.locator(".unfold-terms tr")
    expect(terms).to_have_count(3)  # a1[0]·W2[0, 0], a1[1]·W2[1, 0], b2[0]
    expect(terms.first).to_contain_text("a1[0] · W2[0, 0]")
    expect(z).to_have_class("num unfolded")  # the number explained is marked where it stands
    expect(page).to_have_url(re.compile(r"ux=layers\.1\.hook_z(%3A|:)0"))
    page.keyboard.press("Escape")
    expect(page.locator("#unfold")).to_be_hidden()
    expect(z).to_be_focused()

    page.locator('#network circle[data-ux="layers.0.hook_a:1"]').click()
    _shown(page, "layers.0.hook_a:1")
    expect(page.locator("#unfold-formula, .unfold-formula")).to_contain_text("ReLU(z) = max(0, z)")

    weights = "#layers .layer:nth-of-type(2) .plot"
    page.locator(".unfold-close").click()
    page.locator(weights).focus()  # from the keyboard: ↓ to unit 1's row, Enter on its a1[0] column
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    _shown(page, "layers.1.linear.weight:1,0")  # W2's row of unit 1, column a1[0]: W2[0, 1] as the formulas read it
    expect(page.locator("#unfold")).to_be_focused()
    value = page.evaluate("(s) => document.querySelector(s).data[0].z[1][0]", weights)
    title, total = _title_and_total(page)
    assert title == f"W2[0, 1] = {value:.4f}".replace("-", "−")
    assert total == f"{value:.4f}".replace("-", "−")
    expect(page.locator("#unfold-note")).to_contain_text("Set by training")


def test_the_text_net_unfolds_its_trace_by_keyboard_its_table_and_its_bars(page: Page, server: str) -> None:
    page.goto(f"{server}/models/textnet-4d-adam?word=cat")
    wait_for_state(page, word="cat")
    logit = page.locator('#trace button[data-ux="hook_logits:3"]')  # the logit of 'dog'
    logit.focus()
    page.keyboard.press("Enter")
    _shown(page, "hook_logits:3")
    expect(page.locator("#unfold")).to_be_focused()  # the keyboard goes on inside the drawer
    expect(page.locator("#unfold-title")).to_have_text(f"logit of 'dog' = {logit.inner_text().replace('-', '−')}")
    expect(page.locator(".unfold-terms tr").first).to_contain_text("W_out[")
    page.keyboard.press("Escape")
    expect(logit).to_be_focused()

    page.locator("#plot-dist").scroll_into_view_if_needed()
    page.mouse.click(*_bar_centre(page, "#plot-dist", "probs", 3))  # p(dog): cat → dog was trained
    _shown(page, "output.probs:3")
    p = page.evaluate("() => document.getElementById('plot-dist').data.find((t) => t.name === 'probs').y[3]")
    assert _title_and_total(page) == (f"p('dog') = {_four(p)}", _four(p))
    expect(page.locator("#unfold")).to_contain_text("T = 1.0000")

    page.locator(".unfold-close").click()
    page.locator("#heat-embed").scroll_into_view_if_needed()
    page.mouse.click(*_cell_centre(page, "#heat-embed", 2, 1))
    _shown(page, "embed.weight:2,1")
    box, table = page.locator("#unfold").bounding_box(), page.locator("#heat-embed").bounding_box()
    assert box is not None
    assert table is not None
    assert box["x"] + box["width"] <= table["x"] or box["x"] >= table["x"] + table["width"]  # clear of the table
    expect(page.locator("#unfold-title")).to_contain_text("E['cat', 1] = ")

    expect(page).to_have_url(re.compile(r"ux=embed\.weight(%3A|:)2(%2C|,)1"))
    page.reload()  # the URL holds the number: a shared link opens on it
    _shown(page, "embed.weight:2,1")


def test_the_gpts_next_word_bars_unfold_in_the_walks_last_stage(page: Page, server: str) -> None:
    text = "the dogs that chased the cat"
    next_word = stage_index(server, "tiny-gpt", "output", "next word")
    # in the stage's own chart: → to the second bar, Enter unfolds its probability
    page.goto(f"{server}/models/tiny-gpt?stage={next_word}")
    wait_for_state(page, text=text, stage=next_word)
    page.locator("#panel-next").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    second = page.evaluate("() => document.getElementById('panel-next').data[0].customdata[1]")
    _shown(page, f"output.probs:{second}")
    p = page.evaluate("() => document.getElementById('panel-next').data.find((t) => t.name === 'probs').y[1]")
    expect(page.locator("#unfold-total")).to_have_text(_four(p))
    expect(page.locator("#unfold-note")).to_contain_text("tokens kept")

    # a bar of the chart below the walk walks to the "next word" stage and unfolds it there
    page.goto(f"{server}/models/tiny-gpt?stage=0")
    wait_for_state(page, text=text, stage=0)
    page.locator("#plot-next").scroll_into_view_if_needed()
    page.mouse.click(*_bar_centre(page, "#plot-next", "logits", 0))
    wait_for_state(page, stage=next_word)
    top = page.evaluate("() => document.getElementById('plot-next').data[0].customdata[0]")
    _shown(page, f"hook_logits:{len(text.split()) - 1},{top}")
    expect(page.locator("#unfold-title")).to_contain_text("logit of ")
    expect(page.locator(".unfold-terms tr", has_text="more")).to_have_count(1)  # d_model terms: the largest, "… n more"


def test_the_translators_next_word_bars_unfold(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-translator")
    wait_for_state(page, stage=0)
    page.locator("#plot-next").scroll_into_view_if_needed()
    page.mouse.click(*_bar_centre(page, "#plot-next", "probs", 0))
    top = page.evaluate("() => document.getElementById('plot-next').data[0].customdata[0]")
    _shown(page, f"output.probs:{top}")
    p = page.evaluate("() => document.getElementById('plot-next').data[0].y[0]")
    expect(page.locator("#unfold-total")).to_have_text(_four(p))


def test_on_a_phone_the_drawer_is_a_sheet_inside_the_screen(page: Page, server: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{server}/models/sqrt-mlp-16x16?x=4&ux=layers.1.hook_z:3")
    _shown(page, "layers.1.hook_z:3")
    box = page.locator("#unfold").bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 390
    assert box["y"] + box["height"] <= 844
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.locator(".unfold-close").click()
    expect(page.locator("#unfold")).to_be_hidden()
    expect(page).not_to_have_url(re.compile(r"ux=layers"))  # closed: the shared link no longer opens it


def test_space_on_a_number_unfolds_it_and_does_not_move_the_walk(page: Page, server: str) -> None:
    page.goto(f"{server}/models/sqrt-mlp-2x2?x=4")
    wait_for_state(page, x=4)
    page.locator('#trace button[data-ux="layers.0.hook_z:1"]').focus()
    page.keyboard.press(" ")
    _shown(page, "layers.0.hook_z:1")
    expect(page).to_have_url(re.compile(r"ux=layers\.0\.hook_z(%3A|:)1"))
    expect(page).to_have_url(re.compile(r"stage=0"))  # the walk stayed where it was
    expect(page.locator("#walk-step")).to_contain_text("1 /")


def test_the_drawer_shows_its_total_in_the_lecture_hall(page: Page, server: str) -> None:
    """At 1920×1080 in presentation mode, a long sum (d_model terms) still ends in view: the terms scroll."""
    page.set_viewport_size({"width": 1920, "height": 1080})
    stage = stage_index(server, "tiny-gpt", "block 0", "Q, K, V")
    page.goto(f"{server}/models/tiny-gpt?present=1&stage={stage}&ux=blocks.0.attn.hook_q:0,2,3")
    _shown(page, "blocks.0.attn.hook_q:0,2,3")
    drawer, total = page.locator("#unfold").bounding_box(), page.locator("#unfold-total").bounding_box()
    assert drawer is not None
    assert total is not None
    assert total["y"] + total["height"] <= drawer["y"] + drawer["height"]
    assert total["y"] + total["height"] <= 1080
    wrap = "document.querySelector('.unfold-terms-wrap')"
    assert page.evaluate(f"() => {wrap}.scrollWidth <= {wrap}.clientWidth")  # no term is cut at the right
