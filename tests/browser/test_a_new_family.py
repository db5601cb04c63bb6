"""A family defined in the tests alone (tests/toy/family.py), served by a real server, gets a working page with no
file of its own: the walk through its hooks, each drawn with the API's numbers, and its next word."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import wait_for_state
from tests.servers import serving
from tests.toy.family import MODEL_ID

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def toy_server() -> Iterator[str]:
    with serving("tests.toy.family:create_app") as url:
        yield url


def _steps(server: str, text: str) -> list[dict[str, Any]]:
    response = httpx.post(f"{server}/api/models/{MODEL_ID}/forward", json={"input": text})
    response.raise_for_status()
    return response.json()["steps"]  # type: ignore[no-any-return]


def test_the_gallery_lists_it_and_its_page_walks_every_hook_with_the_apis_numbers(page: Page, toy_server: str) -> None:
    page.goto(toy_server)
    page.get_by_role("link", name="Toy bigram").click()
    wait_for_state(page, input="a", stage=0)
    steps = _steps(toy_server, "a")
    expect(page.locator("#stages button")).to_have_text([f"{i + 1} {s['title']}" for i, s in enumerate(steps)])
    for stage, step in enumerate(steps):
        if stage:
            page.keyboard.press("ArrowRight")
        wait_for_state(page, stage=stage)
        expect(page.locator("#caption-what")).to_contain_text(f"{step['title']}: shape {step['shape']}")
        z = page.evaluate(f"() => document.querySelector('[data-hook=\"{step['name']}\"]').data[0].z")
        assert z == [step["data"]]  # a vector is drawn as one row
    expect(page.locator("#prediction")).to_have_text("argmax: b")


def test_typing_another_word_redraws_the_stage_and_the_next_word(page: Page, toy_server: str) -> None:
    page.goto(f"{toy_server}/models/{MODEL_ID}?stage=2")
    wait_for_state(page, input="a", stage=2)
    page.locator("#input").fill("a b")
    page.locator("#input").press("Enter")
    wait_for_state(page, input="a b", stage=2)
    [logits] = [s for s in _steps(toy_server, "a b") if s["name"] == "hook_logits"]
    z = page.evaluate("() => document.querySelector('[data-hook=\"hook_logits\"]').data[0].z")
    assert z == [logits["data"]]
    expect(page.locator("#prediction")).to_have_text("argmax: c")
    assert "input=a+b" in page.url
