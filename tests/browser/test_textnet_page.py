"""The text-net page in Chromium: picker, temperature, top-k, chains and model switch, all matching the API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Guard, wait_for_state

pytestmark = pytest.mark.browser


def _api(server: str, model_id: str, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{server}/api/models/{model_id}/{endpoint}", json=body)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def _trace(page: Page) -> dict[str, list[str]]:
    rows = page.locator("#trace .step").all()
    script = "r => r.textContent.split(': ').slice(1).join(': ').match(/-?\\d+\\.\\d+/g)"
    return {row.get_attribute("data-hook") or "": row.evaluate(script) for row in rows}


def _plot(page: Page, plot_id: str) -> list[dict[str, Any]]:
    return page.evaluate(f"() => document.getElementById('{plot_id}').data")  # type: ignore[no-any-return]


def test_picking_a_word_walks_it_and_greedy_shows_the_dog_trap(page: Page, server: str) -> None:
    page.goto(f"{server}/models/textnet-2d-sgd?word=hello")
    wait_for_state(page, word="hello")
    page.get_by_role("button", name="dog", exact=True).click()
    wait_for_state(page, word="dog")
    expected = _api(server, "textnet-2d-sgd", "forward", {"input": "dog", "temperature": 1})
    assert _trace(page) == {s["name"]: [f"{v:.4f}" for v in s["data"]] for s in expected["steps"]}
    expect(page.locator("#trace")).to_contain_text("Predicted token: dog")
    expect(page.get_by_role("button", name="dog", exact=True)).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#chain-greedy")).to_contain_text("dog → dog → dog")
    expect(page.locator("#chain-greedy [data-stop=loop]")).to_have_text("stuck: dog → dog")
    embed = _plot(page, "plot-embed")[0]
    assert embed["marker"]["size"][3] > embed["marker"]["size"][0]  # dog, id 3, is highlighted
    assert "word=dog" in page.url


def test_temperature_and_top_k_redraw_the_distribution_with_the_apis_numbers(page: Page, server: str) -> None:
    page.goto(f"{server}/models/textnet-2d-sgd?word=cute")
    wait_for_state(page, word="cute")
    page.locator("#temperature").fill("20")  # the slider is quadratic: 5·0.2² = 0.2
    wait_for_state(page, word="cute", temperature=0.2)
    expected = _api(server, "textnet-2d-sgd", "forward", {"input": "cute", "temperature": 0.2})["output"]
    bars = _plot(page, "plot-dist")
    assert bars[0]["y"] == pytest.approx(expected["logits"])
    assert bars[1]["y"] == pytest.approx(expected["scaled"])
    assert bars[2]["y"] == pytest.approx(expected["probs"])
    expect(page.locator("#temperature-value")).to_have_text("T = 0.200")
    expect(page.locator("#entropy")).to_have_text(f"{expected['entropy']:.3f}")

    page.locator("#top-k").select_option("2")
    wait_for_state(page, word="cute", temperature=0.2, top_k=2)
    colours = _plot(page, "plot-dist")[2]["marker"]["color"]
    kept = _api(server, "textnet-2d-sgd", "forward", {"input": "cute", "temperature": 0.2, "top_k": 2})["output"][
        "kept"
    ]
    assert [i for i, c in enumerate(colours) if c != "#d4d4d4"] == sorted(kept)
    assert len(kept) == 2


def test_sample_again_draws_the_next_seeds_chain(page: Page, server: str) -> None:
    page.goto(f"{server}/models/textnet-2d-sgd?word=hello&t=1.5&seed=4")
    wait_for_state(page, word="hello", temperature=1.5, seed=4)
    page.get_by_role("button", name="sample again").click()
    wait_for_state(page, word="hello", temperature=1.5, seed=5)
    sampled = _api(server, "textnet-2d-sgd", "generate", {"prompt": "hello", "temperature": 1.5, "seed": 5})
    expect(page.locator("#chain-sampled .token")).to_have_text(sampled["text"].split(" "))
    expect(page.locator("#seed")).to_have_value("5")


def test_the_other_model_is_one_click_away_with_the_same_word(page: Page, server: str) -> None:
    page.goto(f"{server}/models/textnet-2d-sgd?word=dog")
    wait_for_state(page, word="dog")
    page.get_by_role("link", name="Text net, 4-D embeddings, Adam").click()
    page.wait_for_url("**/models/textnet-4d-adam?*word=dog*")
    wait_for_state(page, word="dog")
    expect(page.locator("#chain-greedy")).to_contain_text("dog → !")
    expect(page.locator("#chain-greedy [data-stop=eos]")).to_be_visible()
    expect(page.locator("#dims")).to_be_visible()  # 4-D: choose the two dimensions shown
    page.locator("#dim-y").select_option("3")
    wait_for_state(page, word="dog")
    page.wait_for_url("**dy=3**")
    table = httpx.get(f"{server}/api/models/textnet-4d-adam").json()["embedding"]
    assert _plot(page, "plot-embed")[0]["y"] == pytest.approx([row[3] for row in table])


def test_a_reload_restores_every_control(page: Page, server: str) -> None:
    page.goto(f"{server}/models/textnet-4d-adam?word=silly&t=0.8&k=3&p=0.9&seed=12&dx=2&dy=1")
    wait_for_state(page, word="silly", temperature=0.8, top_k=3, top_p=0.9, seed=12)
    page.reload()
    wait_for_state(page, word="silly", temperature=0.8, top_k=3, top_p=0.9, seed=12)
    expect(page.locator("#top-k")).to_have_value("3")
    expect(page.locator("#top-p")).to_have_value("0.9")
    expect(page.locator("#dim-x")).to_have_value("2")
    expect(page.get_by_role("button", name="silly")).to_have_attribute("aria-pressed", "true")


def test_a_link_with_bad_settings_explains_and_falls_back_to_the_defaults(
    page: Page, server: str, guard: Guard
) -> None:
    guard.expect_console_error("status of 422")
    page.goto(f"{server}/models/textnet-4d-adam?word=horse&t=abc&k=99&p=-1&seed=1e30&dx=9")
    wait_for_state(page, word="hello", temperature=1, top_k=None, top_p=None, seed=0)
    expect(page.locator("#error")).to_contain_text("(HTTP 422)")
    expect(page.locator("#dim-x")).to_have_value("0")
    expect(page.locator("#temperature")).to_be_enabled()


def test_the_sibling_link_carries_the_word_just_picked(page: Page, server: str) -> None:
    page.goto(f"{server}/models/textnet-2d-sgd?word=hello")
    wait_for_state(page, word="hello")
    page.get_by_role("button", name="cute").click()
    wait_for_state(page, word="cute")
    href = page.get_by_role("link", name="Text net, 4-D embeddings, Adam").get_attribute("href") or ""
    assert "word=cute" in href


def test_quick_changes_to_two_controls_and_double_clicks_all_count(page: Page, server: str) -> None:
    page.goto(f"{server}/models/textnet-2d-sgd?word=hello&seed=1")
    wait_for_state(page, word="hello", seed=1)
    page.locator("#temperature").fill("30")  # T = 0.45, and at once:
    page.locator("#top-k").select_option("3")
    page.get_by_role("button", name="sample again").click()
    page.get_by_role("button", name="sample again").click()
    wait_for_state(page, word="hello", temperature=0.45, top_k=3, seed=3)
