"""The translator page in Chromium: the three attentions, the alignment, the next word, a translation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import wait_for_state

pytestmark = pytest.mark.browser


def _api(server: str, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{server}/api/models/tiny-translator/{endpoint}", json=body)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def _z(page: Page, plot: str) -> Any:
    return page.evaluate(f"() => document.getElementById('{plot}').data[0].z")


def test_the_three_attentions_show_the_apis_numbers_for_the_chosen_layer_and_head(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-translator")
    wait_for_state(page, src="the black cat sleeps .", tgt="")
    page.locator("#target").fill("le chat")
    page.locator("#target").press("Tab")
    wait_for_state(page, tgt="le chat")
    page.locator("#layer").select_option("0")
    page.locator("#head").select_option("3")
    wait_for_state(page, layer=0, head=3)
    steps = {
        s["name"]: s["data"]
        for s in _api(server, "forward", {"input": "the black cat sleeps .", "target": "le chat"})["steps"]
    }
    assert _z(page, "plot-encoder") == steps["encoder.blocks.0.attn.hook_pattern"][3]
    assert _z(page, "plot-decoder") == steps["decoder.blocks.0.attn.hook_scores"][3]
    assert _z(page, "plot-cross") == steps["decoder.blocks.0.cross_attn.hook_pattern"][3]
    y = page.evaluate("() => document.getElementById('plot-cross').data[0].y")
    assert y[0] == "0 &lt;s&gt;"  # the start token, escaped for Plotly
    expect(page.locator("#prediction")).to_have_text("argmax: noir")


def test_step_by_step_decoding_and_translation_highlight_the_source(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-translator?src=the%20white%20houses%20fall%20.")
    wait_for_state(page, src="the white houses fall .", tgt="")
    page.get_by_role("button", name="add it to the French").click()
    wait_for_state(page, tgt="les")
    page.get_by_role("button", name="add it to the French").click()
    wait_for_state(page, tgt="les maisons")
    page.get_by_role("button", name="translate").click()
    page.wait_for_function("() => document.body.dataset.translated === 'les maisons blanches tombent .'")
    page.locator("#translation .token", has_text="blanches").focus()
    expect(page.locator("#attended")).to_contain_text("'blanches' read")
    weights = page.locator("#attended .word-weight").evaluate_all("spans => spans.map((s) => Number(s.title))")
    words = page.locator("#attended .word-weight").all_text_contents()
    assert words[weights.index(max(weights))] == "white"


def test_at_the_end_of_the_sentence_the_next_word_button_stops_and_says_why(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-translator?src=a%20dog%20sleeps%20.&tgt=un%20chien%20dort%20.")
    wait_for_state(page, src="a dog sleeps .", tgt="un chien dort .")
    expect(page.locator("#prediction")).to_have_text("argmax: </s>")
    expect(page.get_by_role("button", name="add it to the French")).to_be_disabled()
    expect(page.locator("#next-note")).to_have_text("The sentence is finished (</s>).")
    page.get_by_role("button", name="a small car sees the green flowers .").click()
    wait_for_state(page, src="a small car sees the green flowers .", tgt="")
    expect(page.get_by_role("button", name="add it to the French")).to_be_enabled()
