"""The MiniLM page in Chromium: a sentence's WordPiece pieces, the walk to a block's attention with all 12 heads (each
stage's steps fetched as it is reached), an unfolded number, the comparison of two sentences, and a phone's width."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Request, expect

from tests.browser.conftest import Guard, stage_index, wait_for_state
from tests.browser.layout import page_overflow

pytestmark = pytest.mark.browser
MODEL = "minilm-l6"
TEXT = "The bank raised its interest rates."


def _forward(server: str, hooks: list[str]) -> dict[str, Any]:
    response = httpx.post(f"{server}/api/models/{MODEL}/forward", json={"input": TEXT, "hooks": hooks})
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def test_the_walk_reaches_a_blocks_attention_with_twelve_heads_fetching_each_stage(page: Page, server: str) -> None:
    asked: list[dict[str, Any]] = []

    def seen(request: Request) -> None:
        if request.url.endswith("/forward"):
            asked.append(json.loads(request.post_data or "{}"))

    page.on("request", seen)
    page.goto(f"{server}/models/{MODEL}")
    wait_for_state(page, stage=0)
    page.locator("#text").fill(TEXT)
    page.locator("#text").press("Enter")
    wait_for_state(page, text=TEXT)
    tokens = page.locator("#tokens .token")
    expect(tokens.first).to_contain_text("[CLS]")
    expect(tokens.last).to_contain_text("[SEP]")
    page.locator(".map-part", has_text="block 2").click()
    softmax = stage_index(server, MODEL, "block 2", "softmax")
    page.locator(".map-stage", has_text="softmax").click()
    page.locator("#head").select_option("7")
    wait_for_state(page, stage=softmax, head=7)
    expect(page.locator("#head option")).to_have_count(12)
    hook = "blocks.2.attn.hook_pattern"
    shown = page.evaluate(
        f'() => document.querySelector(\'#stage-plots [data-hook="{hook}"][data-head="7"]\').data[0].z'
    )
    assert shown == _forward(server, [hook])["steps"][0]["data"][7]
    page.keyboard.press("ArrowRight")  # every head: 12 small patterns and the head view
    wait_for_state(page, stage=softmax + 1)
    expect(page.locator(".all-heads .plot")).to_have_count(12)
    expect(page.locator(".head-view-wrap")).to_contain_text("bank")
    assert asked, "the page asked the API"
    assert all(body.get("hooks") != "all" for body in asked)  # never the whole pass: each stage's own steps
    assert max(len(body.get("hooks") or []) for body in asked) <= 4


def test_a_clicked_score_unfolds_into_its_dot_product(page: Page, server: str) -> None:
    stage = stage_index(server, MODEL, "block 0", "q·kᵀ")
    page.goto(f"{server}/models/{MODEL}?stage={stage}&text={TEXT.replace(' ', '+')}")
    wait_for_state(page, stage=stage, text=TEXT)
    plot = page.locator('#stage-plots [data-hook="blocks.0.attn.hook_scores_raw"]')
    plot.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#unfold")).to_be_visible()
    expect(page.locator("#unfold-title")).to_contain_text("raw scores, head 0")
    expect(page.locator("#unfold")).to_contain_text("d_head = 32")
    expect(page.locator("#unfold-title")).to_contain_text("[1 the, 0 [CLS]]")  # focus lit (0, 0); ↓ moved to (1, 0)
    total = float(page.locator("#unfold-total").inner_text().replace("−", "-"))
    raw = _forward(server, ["blocks.0.attn.hook_scores_raw"])["steps"][0]["data"]
    assert total == pytest.approx(raw[0][1][0], abs=1e-4)
    expect(page.locator(".unfold-terms tr")).to_have_count(9)  # the 8 largest of 32 products, and "… 24 more"


def test_comparing_two_sentences_shows_their_cosine_large(page: Page, server: str) -> None:
    page.goto(f"{server}/models/{MODEL}")
    wait_for_state(page, stage=0)
    expect(page.locator("#cosine")).to_have_text("0.755")
    expect(page.locator("#provenance")).to_contain_text("sentence-transformers/all-MiniLM-L6-v2")
    expect(page.locator("#provenance")).to_contain_text("Apache-2.0")
    page.locator("#sentence-b").fill("The girl is carrying a baby.")
    page.locator("#sentence-b").press("Enter")
    wait_for_state(page, b="The girl is carrying a baby.")
    cosine = httpx.post(
        f"{server}/api/models/{MODEL}/compare",
        json={"input": "A man is eating food.", "other": "The girl is carrying a baby."},
    ).json()["cosine"]
    expect(page.locator("#cosine")).to_have_text(f"{cosine:.3f}".replace("-", "−"))
    assert float(re.sub("−", "-", page.locator("#cosine").inner_text())) < 0
    size = page.locator("#cosine").evaluate("(e) => parseFloat(getComputedStyle(e).fontSize)")
    body = page.locator("body").evaluate("(e) => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 2 * body


def test_a_text_too_long_is_refused_with_the_limit_and_the_view_stays(page: Page, server: str, guard: Guard) -> None:
    guard.expect_console_error("status of 422")
    page.goto(f"{server}/models/{MODEL}")
    wait_for_state(page, stage=0)
    page.locator("#text").fill("a man eats " * 30)
    page.locator("#text").press("Enter")
    expect(page.locator("#error")).to_contain_text("at most 64")
    expect(page.locator("#tokens .token").first).to_contain_text("[CLS]")


@pytest.mark.parametrize("stage_of", [("input", "embeddings"), ("block 3", "every head"), ("block 5", "expand")])
def test_no_stage_is_wider_than_a_390_px_phone(page: Page, server: str, stage_of: tuple[str, str]) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    stage = stage_index(server, MODEL, *stage_of)
    page.goto(f"{server}/models/{MODEL}?stage={stage}")
    wait_for_state(page, stage=stage)
    assert page_overflow(page) == 0
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
