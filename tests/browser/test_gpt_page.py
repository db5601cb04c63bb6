"""The GPT page in Chromium: prompt, the stage panel, head, temperature, generation and comparison."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import stage_index, wait_for_state

pytestmark = pytest.mark.browser
CAPTIONS = json.loads((Path(__file__).parents[2] / "static" / "captions" / "gpt.json").read_text())["stages"]


def _api(server: str, body: dict[str, Any], endpoint: str = "forward") -> dict[str, Any]:
    every = {"hooks": "all"} if endpoint == "forward" else {}  # the page asks for each stage's; the test for all
    response = httpx.post(f"{server}/api/models/tiny-gpt/{endpoint}", json={**body, **every})
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def _plot(hook: str, head: str = "") -> str:
    return f'#stage-plots [data-hook="{hook}"][data-head="{head}"]'


def _plot_z(page: Page, hook: str, head: str = "") -> Any:
    return page.evaluate(f"() => document.querySelector('{_plot(hook, head)}').data[0].z")


def test_typing_a_prompt_and_stepping_to_a_head_shows_the_apis_attention(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-gpt")
    wait_for_state(page, text="the dogs that chased the cat")
    page.locator("#text").fill("the queen met the king and")
    page.locator("#text").press("Enter")
    wait_for_state(page, text="the queen met the king and")
    expect(page.locator("#tokens .token")).to_have_count(6)
    page.locator(".map-part", has_text="block 1").click()
    wait_for_state(page, stage=stage_index(server, "tiny-gpt", "block 1", "layer norm"))
    page.locator(".map-stage", has_text="softmax").click()
    page.locator("#head").select_option("2")
    softmax = stage_index(server, "tiny-gpt", "block 1", "softmax")
    wait_for_state(page, stage=softmax, head=2)
    expect(page.locator("#stage-title")).to_have_text("block 1 · softmax")
    steps = {s["name"]: s for s in _api(server, {"input": "the queen met the king and"})["steps"]}
    assert _plot_z(page, "blocks.1.attn.hook_scores", "2") == steps["blocks.1.attn.hook_scores"]["data"][2]
    assert _plot_z(page, "blocks.1.attn.hook_pattern", "2") == steps["blocks.1.attn.hook_pattern"]["data"][2]
    expect(page.locator("#prediction")).to_have_text("argmax: she")
    assert f"stage={softmax}" in page.url
    assert "head=2" in page.url

    page.keyboard.press("ArrowRight")  # every head: four small patterns and head 2 as lines
    wait_for_state(page, stage=softmax + 1, head=2)
    expect(page.locator(".all-heads .plot")).to_have_count(4)
    patterns = steps["blocks.1.attn.hook_pattern"]["data"]
    for head in range(4):
        assert _plot_z(page, "blocks.1.attn.hook_pattern", str(head)) == patterns[head]
    drawn = page.locator(".head-view .head-line").evaluate_all(
        "lines => lines.map((l) => [Number(l.dataset.q), Number(l.dataset.k)])"
    )
    weighty = [[i, j] for i, row in enumerate(patterns[2]) for j, w in enumerate(row) if w is not None and w >= 0.01]
    assert sorted(drawn) == weighty  # a line for each weight that shows, none for a masked key


def test_the_masked_scores_stage_leaves_later_words_blank(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-gpt?text=dog%20bites%20man%20.&stage=6")
    wait_for_state(page, text="dog bites man .", stage=6)
    z = _plot_z(page, "blocks.0.attn.hook_scores", "0")
    assert [row[i + 1 :] for i, row in enumerate(z)] == [[None] * (3 - i) for i in range(4)]
    steps = {s["name"]: s for s in _api(server, {"input": "dog bites man ."})["steps"]}
    assert z == steps["blocks.0.attn.hook_scores"]["data"][0]
    scores = _plot("blocks.0.attn.hook_scores", "0")
    background = page.evaluate(f"() => document.querySelector('{scores}').layout.plot_bgcolor")
    assert background == "#b8b8b8"  # masked cells show grey
    expect(page.locator("#caption-formula")).to_have_text(CAPTIONS["÷√d, mask"]["formula"])
    page.locator(scores).focus()  # lights cell (0, 0)
    page.keyboard.press("ArrowRight")  # key 1 comes after query 0
    expect(page.locator("#cell-readout")).to_contain_text("masked")


def test_the_temperature_and_next_word_follow_the_api(page: Page, server: str) -> None:
    last = stage_index(server, "tiny-gpt", "output", "next word")
    page.goto(f"{server}/models/tiny-gpt?text=dog%20bites&stage={last}")
    wait_for_state(page, text="dog bites", stage=last)
    page.locator("#temperature").fill("80")  # 5 · 0.8² = 3.2
    wait_for_state(page, text="dog bites", temperature=3.2)
    expected = _api(server, {"input": "dog bites", "temperature": 3.2})["output"]
    order = sorted(range(len(expected["logits"])), key=lambda i: -expected["logits"][i])
    for plot in ("plot-next", "panel-next"):  # the section below, and the walk's last stage
        bars = page.evaluate(f"() => document.getElementById('{plot}').data")
        assert bars[1]["y"] == pytest.approx([expected["probs"][i] for i in order])
    expect(page.locator("#entropy")).to_have_text(f"{expected['entropy']:.3f}")


def test_adding_words_one_at_a_time_extends_the_text(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-gpt?text=the%20king%20met%20the%20girl%20and&t=0")
    wait_for_state(page, text="the king met the girl and", temperature=0)
    page.get_by_role("button", name="add one word").click()
    wait_for_state(page, text="the king met the girl and he", temperature=0)
    expect(page.locator("#generated li").first).to_contain_text("he drawn with p = 1.000")
    page.get_by_role("button", name="generate to the end").click()
    page.wait_for_function("() => JSON.parse(document.body.dataset.rendered).text.endsWith(' .')")
    expect(page.locator("#generated .stop")).to_have_text("end of sentence")


def test_comparing_two_inputs_shows_where_they_diverge(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-gpt?text=the%20dogs%20that%20chased%20the%20cat")
    wait_for_state(page, text="the dogs that chased the cat")
    page.locator("#compare").fill("the dog that chased the cat")
    page.locator("#compare").press("Tab")
    wait_for_state(page, cmp="the dog that chased the cat")
    expect(page.locator("#compare-summary")).to_contain_text("first differ at position 1 ('dogs' / 'dog')")
    expect(page.locator("#compare-summary")).to_contain_text("'are' for the first, 'is' for the second")
    z = page.evaluate("() => document.getElementById('plot-compare').data[0].z")
    assert all(row[0] == 0 for row in z)  # position 0 sees only 'the' in both
    assert all(row[1] > 0 for row in z)


def test_a_temperature_move_does_not_ask_for_the_comparison_again(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-gpt?text=dog%20bites%20man%20.&cmp=man%20bites%20dog%20.")
    wait_for_state(page, cmp="man bites dog .")
    compares: list[str] = []
    page.on("request", lambda r: compares.append(r.url) if r.url.endswith("/compare") else None)
    page.locator("#temperature").fill("80")
    wait_for_state(page, cmp="man bites dog .", temperature=3.2)
    expect(page.locator("#compare-summary")).to_contain_text("first differ at position 0 ('dog' / 'man')")
    assert compares == []  # the distances depend on the two texts alone


def test_a_word_from_the_vocabulary_list_is_added_to_the_text(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-gpt?text=dog%20bites")
    wait_for_state(page, text="dog bites")
    vocabulary = page.locator("details.vocabulary")
    vocabulary.locator("summary").click()
    words = vocabulary.locator(".vocab-words button").all_text_contents()
    assert words == httpx.get(f"{server}/api/models/tiny-gpt").json()["config"]["vocab"]
    vocabulary.get_by_role("button", name="man", exact=True).click()
    wait_for_state(page, text="dog bites man")
    expect(page.locator("#text")).to_have_value("dog bites man")
