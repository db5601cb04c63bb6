"""Unfolding a number in the stage panel (views/unfold.js): a click or Enter on a cell opens its computation from the
server's /explain, ending in the very number the plot shows; Escape closes it and gives the focus back; the URL holds
it, so a reload opens on the same number; a masked score says why; the translator's cross-attention unfolds too.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import wait_for_state
from tests.browser.test_stage_panels import _cell_centre

pytestmark = pytest.mark.browser

TEXT = "the dogs that chased the cat"


def _stage(server: str, model: str, label: str) -> int:
    stages: list[dict[str, Any]] = httpx.get(f"{server}/api/models/{model}").json()["stages"]
    return next(n for n, s in enumerate(stages) if s["label"] == label)


def _shown(page: Page, ux: str) -> None:
    """Until the drawer shows the server's answer for `ux`."""
    page.wait_for_function("(ux) => document.getElementById('unfold').dataset.shown === ux", arg=ux)


def _cell(page: Page, selector: str, row: int, column: int) -> float | None:
    """The number the plot itself holds at (row, column)."""
    return page.evaluate(  # type: ignore[no-any-return]
        "([s, r, c]) => document.querySelector(s).data[0].z[r][c]", [selector, row, column]
    )


def _four(value: float) -> str:
    return f"{value:.4f}".replace("-", "−")


def test_a_clicked_raw_score_unfolds_into_its_dot_product_ending_in_the_shown_value(page: Page, server: str) -> None:
    stage = _stage(server, "tiny-gpt", "q·kᵀ")
    page.goto(f"{server}/models/tiny-gpt?stage={stage}")
    wait_for_state(page, text=TEXT, stage=stage)
    scores = '#stage-plots [data-role="raw scores"]'
    page.mouse.click(*_cell_centre(page, scores, 3, 1))
    _shown(page, "blocks.0.attn.hook_scores_raw:0,3,1")
    value = _cell(page, scores, 3, 1)
    assert value is not None
    expect(page.locator("#unfold-total")).to_have_text(_four(value))
    expect(page.locator("#unfold-title")).to_have_text(f"raw scores, head 0 [3 chased, 1 dogs] = {_four(value)}")
    config = httpx.get(f"{server}/api/models/tiny-gpt").json()["config"]
    d_head = config["d_model"] // config["n_heads"]
    terms = page.locator(".unfold-terms tr")
    expect(terms).to_have_count(d_head)  # a short sum: every q_d · k_d
    expect(terms.first).to_contain_text("q[0] · k[0]")
    expect(terms.first).to_contain_text(" × ")  # its two factors
    expect(page.locator("#unfold")).to_contain_text(f"d_head = {d_head}")


def test_a_pattern_entry_opens_by_keyboard_closes_with_escape_and_a_reload_reopens_it(page: Page, server: str) -> None:
    stage = _stage(server, "tiny-gpt", "softmax")
    page.goto(f"{server}/models/tiny-gpt?stage={stage}")
    wait_for_state(page, text=TEXT, stage=stage)
    pattern = '#stage-plots [data-role="pattern"]'
    page.locator(pattern).focus()  # lights (0, 0)
    for key in ["ArrowDown", "ArrowDown", "ArrowDown", "ArrowRight", "Enter"]:
        page.keyboard.press(key)
    ux = "blocks.0.attn.hook_pattern:0,3,1"
    _shown(page, ux)
    value = _cell(page, pattern, 3, 1)
    assert value is not None
    expect(page.locator("#unfold-title")).to_have_text(f"pattern, head 0 [3 chased, 1 dogs] = {_four(value)}")
    expect(page.locator("#unfold-total")).to_have_text(_four(value))
    expect(page.locator(".unfold-terms tr")).to_have_count(4)  # the four keys query 3 sees
    expect(page.locator("#unfold")).to_contain_text("Σ exp")
    page.wait_for_function("(ux) => new URLSearchParams(location.search).get('ux') === ux", arg=ux)

    page.keyboard.press("Escape")
    expect(page.locator("#unfold")).to_be_hidden()
    page.wait_for_function("() => document.activeElement?.dataset.role === 'pattern'")  # the focus is back
    page.wait_for_function("() => new URLSearchParams(location.search).get('ux') === ''")

    page.keyboard.press("Enter")  # the lit cell again
    _shown(page, ux)
    page.wait_for_function("(ux) => new URLSearchParams(location.search).get('ux') === ux", arg=ux)
    page.reload()
    wait_for_state(page, text=TEXT, stage=stage)
    _shown(page, ux)
    expect(page.locator("#unfold-total")).to_have_text(_four(value))


def test_in_a_matrix_of_rows_the_arrow_keys_reach_any_entry_of_the_row_for_enter(page: Page, server: str) -> None:
    stage = _stage(server, "tiny-gpt", "Q, K, V")
    page.goto(f"{server}/models/tiny-gpt?stage={stage}")
    wait_for_state(page, text=TEXT, stage=stage)
    queries = '#stage-plots [data-role="Q"]'
    page.locator(queries).focus()  # lights row 0
    for key in ["ArrowDown", "ArrowDown", "ArrowRight", "ArrowRight", "ArrowRight", "Enter"]:
        page.keyboard.press(key)
    _shown(page, "blocks.0.attn.hook_q:0,2,3")  # head 0, position 2, d 3
    value = _cell(page, queries, 2, 3)
    assert value is not None
    expect(page.locator("#unfold-total")).to_have_text(_four(value))


def test_a_masked_score_says_why(page: Page, server: str) -> None:
    stage = _stage(server, "tiny-gpt", "÷√d, mask")
    page.goto(f"{server}/models/tiny-gpt?stage={stage}")
    wait_for_state(page, text=TEXT, stage=stage)
    scores = '#stage-plots [data-role="scores"]'
    assert _cell(page, scores, 1, 3) is None
    page.mouse.click(*_cell_centre(page, scores, 1, 3))
    _shown(page, "blocks.0.attn.hook_scores:0,1,3")
    expect(page.locator("#unfold-title")).to_contain_text("= masked")
    expect(page.locator("#unfold-note")).to_contain_text("key 3 comes after query 1")


def test_the_translator_unfolds_a_cross_attention_weight(page: Page, server: str) -> None:
    stage = _stage(server, "tiny-translator", "cross softmax")
    page.goto(f"{server}/models/tiny-translator?stage={stage}")
    wait_for_state(page, stage=stage)
    pattern = '#stage-plots [data-role="pattern"]'
    page.mouse.click(*_cell_centre(page, pattern, 1, 2))
    hook = httpx.get(f"{server}/api/models/tiny-translator").json()["stages"][stage]["hooks"][-1]["hook"]
    assert "cross_attn.hook_pattern" in hook
    _shown(page, f"{hook}:0,1,2")
    value = _cell(page, pattern, 1, 2)
    assert value is not None
    expect(page.locator("#unfold-total")).to_have_text(_four(value))
    expect(page.locator("#unfold-title")).to_contain_text("pattern, head 0 [1 le → ")
    page.locator(".unfold-close").click()
    expect(page.locator("#unfold")).to_be_hidden()
