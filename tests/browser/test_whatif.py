"""What if? on every model page, in Chromium: an experiment sets its changes and walks to its stage, a box ticks a
change, the panel shows the result unchanged, changed and their difference with where the change first showed, the
changes live in the URL (a reload keeps them); the translator's translation without its cross-attention; the MLP's
weight set from its unfolding redraws the changed net's curve; a text-net word dragged in its plane predicts from
there."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import stage_index, wait_for_state
from tests.browser.test_stage_panels import _cell_centre
from tests.browser.test_unfold_pages import _shown

pytestmark = pytest.mark.browser


def _wi(page: Page) -> str:
    return parse_qs(urlsplit(page.url).query).get("wi", [""])[0]


def test_why_scaling_is_two_clicks_and_every_row_sharpens(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-gpt")
    wait_for_state(page, stage=0)
    page.locator("#what-if > summary").click()
    page.locator('[data-experiment="why-scaling"]').click()
    softmax = stage_index(server, "tiny-gpt", "block 0", "softmax")
    wait_for_state(page, stage=softmax)
    expect(page.locator("#what-if-said")).to_contain_text("no ÷√d in block 0")
    expect(page.locator("#what-if-story")).to_contain_text("Why are the scores divided by √d_head")
    expect(page.locator("#stage-plots .plot")).to_have_count(3)  # unchanged → changed, changed − unchanged
    expect(page.locator("#what-if-moved")).to_contain_text("block 0 · ÷√d, mask")
    said = page.locator("#what-if-moved").inner_text()
    before, after = map(float, re.search(r"rows: ([\d.]+) → ([\d.]+) bits", said).groups())  # type: ignore[union-attr]
    assert after < before
    page.wait_for_function("() => new URLSearchParams(location.search).get('wi') === 's0'")
    page.reload()  # the changes are in the link
    wait_for_state(page, stage=softmax)
    expect(page.locator("#what-if-said")).to_contain_text("no ÷√d in block 0")
    expect(page.locator("#stage-plots .plot")).to_have_count(3)


def test_a_ticked_mask_box_lets_every_word_see_the_words_after_it(page: Page, server: str) -> None:
    softmax = stage_index(server, "tiny-gpt", "block 0", "softmax")
    page.goto(f"{server}/models/tiny-gpt?stage={softmax}")
    wait_for_state(page, stage=softmax)
    page.locator("#what-if > summary").click()
    page.locator("#what-if-controls .wi-row").first.get_by_text("no mask").click()
    page.wait_for_function("() => new URLSearchParams(location.search).get('wi') === 'm0'")
    changed = '#stage-plots .plot[data-role="pattern"]'
    page.wait_for_function(f"() => document.querySelectorAll('{changed}').length === 3")
    z = page.evaluate(f"() => document.querySelectorAll('{changed}')[1].data[0].z")  # the changed pattern
    assert all(z[i][j] > 0 for i in range(len(z)) for j in range(len(z)) if j > i)  # every later word is read
    assert all(abs(sum(row) - 1) < 1e-3 for row in z)
    page.locator("#what-if-controls button", has_text="clear all").click()
    page.wait_for_function("() => !new URLSearchParams(location.search).get('wi')")
    expect(page.locator("#stage-plots .plot")).to_have_count(2)  # scores → pattern again


def test_the_translator_without_its_cross_attention_writes_something_else(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-translator")
    wait_for_state(page, stage=0)
    page.locator("#what-if > summary").click()
    page.locator('[data-experiment="no-cross"]').click()
    expect(page.locator("#what-if-said")).to_contain_text("cross block 0 heads 0, 1, 2, 3 knocked out")
    page.locator("#translate").click()
    expect(page.locator("#translation-changed")).to_contain_text("with the changes:")
    translated = page.locator("#translation").inner_text()
    assert translated.strip() not in page.locator("#translation-changed").inner_text()


def test_a_weight_set_from_its_unfolding_redraws_the_changed_net(page: Page, server: str) -> None:
    page.goto(f"{server}/models/sqrt-mlp-2x2?x=4&ux=layers.0.linear.weight:0,0")
    wait_for_state(page, x=4)
    _shown(page, "layers.0.linear.weight:0,0")
    box = page.locator(".what-if-edit input[type=number]")
    box.fill("0.5")
    box.press("Enter")
    page.wait_for_function(
        "() => new URLSearchParams(location.search).get('wi') === 'w~layers.0.linear.weight~0.0~0.5'"
    )
    expect(page.locator("#what-if-mlp")).to_contain_text("W1[0, 0] = 0.500")
    names = page.wait_for_function(
        """() => {
          const traces = document.getElementById('plot-function').data;
          return traces.some((t) => t.name === 'changed f(x)') && traces.map((t) => t.name);
        }"""
    ).json_value()
    assert "changed kinks" in names
    page.locator("#what-if-mlp button", has_text="trained weights").click()
    page.wait_for_function(
        "() => !document.getElementById('plot-function').data.some((t) => t.name === 'changed f(x)')"
    )


def test_a_word_dragged_in_the_plane_predicts_from_where_it_is_dropped(page: Page, server: str) -> None:
    page.goto(f"{server}/models/textnet-2d-sgd?word=hello")
    wait_for_state(page, word="hello")
    page.locator("#plot-embed").scroll_into_view_if_needed()
    vocab = page.evaluate("() => document.getElementById('plot-embed').data[0].text")
    start = page.evaluate(  # hello's point and cute's, on the page
        """(words) => {
          const div = document.getElementById('plot-embed');
          const { xaxis, yaxis } = div._fullLayout;
          const box = div.querySelector('.nsewdrag').getBoundingClientRect();
          const at = (i) => [box.left + xaxis.l2p(div.data[0].x[i]), box.top + yaxis.l2p(div.data[0].y[i])];
          return [at(words.indexOf('hello')), at(words.indexOf('cute'))];
        }""",
        vocab,
    )
    (x0, y0), (x1, y1) = start
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=4)
    page.mouse.move(x1 + 1, y1 + 1, steps=4)  # onto cute's point: hello now reads as cute does
    page.mouse.up()
    page.wait_for_function("() => (new URLSearchParams(location.search).get('wi') ?? '').startsWith('w~E~0.')")
    expect(page.locator("#what-if-textnet")).to_contain_text("moved 'hello'")
    assert _wi(page).count("w~E~0.") == 2  # both of its dimensions
    page.locator("#what-if-textnet button", has_text="trained points").click()
    page.wait_for_function("() => !new URLSearchParams(location.search).get('wi')")


def test_a_hand_edited_link_with_a_change_the_page_cannot_read_falls_back_to_none(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-gpt?wi=zz9")
    wait_for_state(page, stage=0)
    expect(page.locator("#what-if-said")).to_contain_text("Nothing changed")


def test_an_unchanged_number_still_unfolds_while_the_model_is_changed(page: Page, server: str) -> None:
    raw = stage_index(server, "tiny-gpt", "block 0", "q·kᵀ")
    page.goto(f"{server}/models/tiny-gpt?stage={raw}&wi=p")
    wait_for_state(page, stage=raw)
    x, y = _cell_centre(page, '#stage-plots [data-role="raw scores"]', 1, 0)  # the unchanged side: it unfolds
    page.mouse.click(x, y)
    page.wait_for_function("() => (document.getElementById('unfold').dataset.shown ?? '').includes('hook_scores_raw')")
    expect(page.locator("#unfold-title")).to_contain_text("raw scores")


def test_a_words_point_moves_from_the_keyboard_through_its_row_of_e(page: Page, server: str) -> None:
    page.goto(f"{server}/models/textnet-2d-sgd?word=hello&ux=embed.weight:0,1")
    wait_for_state(page, word="hello")
    _shown(page, "embed.weight:0,1")
    box = page.locator(".what-if-edit input[type=number]")
    box.fill("1.5")
    box.press("Enter")
    page.wait_for_function("() => new URLSearchParams(location.search).get('wi') === 'w~E~0.1~1.5'")
    expect(page.locator("#what-if-textnet")).to_contain_text("moved 'hello'")
    y = page.evaluate("() => document.getElementById('plot-embed').data[0].y[0]")
    assert y == 1.5  # hello's point, drawn where it was set
