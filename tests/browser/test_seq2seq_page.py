"""The translator page in Chromium: the three attentions in the walk, the alignment, the next word, a translation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import stage_index, wait_for_state

pytestmark = pytest.mark.browser


def _api(server: str, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
    every = {"hooks": "all"} if endpoint == "forward" else {}  # the page asks for each stage's; the test for all
    response = httpx.post(f"{server}/api/models/tiny-translator/{endpoint}", json={**body, **every})
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def _greedy(server: str, src: str) -> str:
    return str(_api(server, "generate", {"prompt": src, "temperature": 0})["text"])


def _plot(page: Page, hook: str, head: str = "") -> Any:
    return page.evaluate(
        f"""() => {{ const d = document.querySelector('#stage-plots [data-hook="{hook}"][data-head="{head}"]');
        return {{z: d.data[0].z, x: d.data[0].x, y: d.data[0].y}}; }}"""
    )


def _go(page: Page, lane: str, part: str, stage: str) -> None:
    """Through the map: the part in its lane, then the stage in it."""
    page.locator(f'.map-lane[aria-label="{lane}"] .map-part', has_text=part).click()
    page.locator(".map-stages").get_by_role("button", name=stage, exact=True).click()


def test_the_three_attentions_show_the_apis_numbers_for_the_chosen_head(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-translator")
    wait_for_state(page, src="the black cat sleeps .", tgt=_greedy(server, "the black cat sleeps ."))
    page.locator("#target").fill("le chat")
    page.locator("#target").press("Tab")
    wait_for_state(page, tgt="le chat")
    result = _api(server, "forward", {"input": "the black cat sleeps .", "target": "le chat"})
    steps = {s["name"]: s["data"] for s in result["steps"]}

    expect(page.locator("#head-control")).to_be_hidden()  # the embeddings have no heads
    _go(page, "encoder", "block 0", "softmax")
    wait_for_state(page, stage=stage_index(server, "tiny-translator", "encoder · block 0", "softmax"))
    page.locator("#head").select_option("3")
    wait_for_state(page, stage=stage_index(server, "tiny-translator", "encoder · block 0", "softmax"), head=3)
    encoder = _plot(page, "encoder.blocks.0.attn.hook_pattern", "3")
    assert encoder["z"] == steps["encoder.blocks.0.attn.hook_pattern"][3]
    assert encoder["x"] == ["0 the", "1 black", "2 cat", "3 sleeps", "4 ."]

    _go(page, "decoder", "block 0", "masked ÷√d, mask")
    wait_for_state(page, stage=stage_index(server, "tiny-translator", "decoder · block 0", "masked ÷√d, mask"), head=3)
    decoder = _plot(page, "decoder.blocks.0.attn.hook_scores", "3")
    assert decoder["z"] == steps["decoder.blocks.0.attn.hook_scores"][3]
    assert decoder["z"][0][1:] == [None, None]  # <s> may not read the words after it

    _go(page, "decoder", "block 0", "cross softmax")
    wait_for_state(page, stage=stage_index(server, "tiny-translator", "decoder · block 0", "cross softmax"), head=3)
    cross = _plot(page, "decoder.blocks.0.cross_attn.hook_pattern", "3")
    assert cross["z"] == steps["decoder.blocks.0.cross_attn.hook_pattern"][3]
    assert cross["y"][1:] == ["1 le → chat", "2 chat → noir"]  # the word read → the word predicted
    expect(page.locator("#stage-title")).to_have_text("decoder · block 0 · cross softmax")
    expect(page.locator("#prediction")).to_have_text("argmax: noir")


def test_the_start_and_end_tokens_show_on_the_axes(page: Page, server: str) -> None:
    cross = stage_index(server, "tiny-translator", "decoder · block 0", "cross softmax")
    page.goto(f"{server}/models/tiny-translator?src=a%20dog%20sleeps%20.&tgt=un%20chien%20dort%20.&stage={cross}")
    wait_for_state(page, tgt="un chien dort .", stage=cross)
    y = _plot(page, "decoder.blocks.0.cross_attn.hook_pattern", "0")["y"]
    assert y[0] == "0 &lt;s&gt; → un"  # Plotly reads <s> as strike-through markup: escaped, it shows as itself
    assert y[-1] == "4 . → &lt;/s&gt;"


def test_the_alignment_shows_the_chosen_layers_cross_attention(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-translator?tgt=le%20chat%20noir")
    wait_for_state(page, tgt="le chat noir", layer=1)
    page.locator("#layer").select_option("0")
    wait_for_state(page, tgt="le chat noir", layer=0)
    expected = _api(server, "forward", {"input": "the black cat sleeps .", "target": "le chat noir"})["alignment"][0]
    assert page.evaluate("() => document.getElementById('plot-align').data[0].z") == expected
    assert "layer=0" in page.url


def test_step_by_step_decoding_and_translation_highlight_the_source(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-translator?src=the%20white%20houses%20fall%20.&tgt=")
    wait_for_state(page, src="the white houses fall .", tgt="")
    page.get_by_role("button", name="add it to the French").click()
    wait_for_state(page, tgt="les")
    page.get_by_role("button", name="add it to the French").click()
    wait_for_state(page, tgt="les maisons")
    page.get_by_role("button", name="translate").click()
    page.wait_for_function("() => document.body.dataset.translated === 'les maisons blanches tombent .'")
    wait_for_state(page, tgt="les maisons blanches tombent .")  # the plots follow the translation
    page.locator("#translation .token", has_text="blanches").focus()
    expect(page.locator("#attended")).to_contain_text("'blanches' read")
    weights = page.locator("#attended .word-weight").evaluate_all("spans => spans.map((s) => Number(s.title))")
    words = page.locator("#attended .word-weight").all_text_contents()
    assert words[weights.index(max(weights))] == "white"


def test_at_the_end_of_the_sentence_the_next_word_button_stops_and_says_why(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-translator?src=a%20dog%20sleeps%20.&tgt=un%20chien")
    wait_for_state(page, src="a dog sleeps .", tgt="un chien")
    expect(page.get_by_role("button", name="add it to the French")).to_be_enabled()
    page.get_by_role("button", name="a small car sees the green flowers .").click()
    src = "a small car sees the green flowers ."
    wait_for_state(page, src=src, tgt=_greedy(server, src))  # an example opens on its whole translation
    expect(page.locator("#prediction")).to_have_text("argmax: </s>")
    expect(page.get_by_role("button", name="add it to the French")).to_be_disabled()
    expect(page.locator("#next-note")).to_have_text("The sentence is finished (</s>).")
