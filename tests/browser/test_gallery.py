"""The gallery in Chromium: every served model, each card a link to its page; and the offline guard works."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Guard

pytestmark = pytest.mark.browser


def add_image(page: Page, url: str) -> None:
    """What a page that used a CDN would do: put an image from `url` in the page, and wait until it settles."""
    page.evaluate(
        """(url) => new Promise((resolve) => {
        const img = document.createElement("img");
        img.onerror = img.onload = resolve;
        img.src = url;
        document.body.append(img);
    })""",
        url,
    )


def test_the_gallery_shows_every_model_and_a_card_opens_its_page(page: Page, server: str) -> None:
    models = httpx.get(f"{server}/api/models").json()
    page.goto(server)
    cards = page.locator(".card")
    expect(cards).to_have_count(len(models))
    for card, model in zip(cards.all(), models, strict=True):
        expect(card).to_contain_text(model["title"])
        expect(card).to_contain_text(f"{model['n_params']:,} parameters")
    cards.first.locator("a").click()
    page.wait_for_url(f"{server}/models/{models[0]['id']}")
    page.wait_for_selector("body[data-rendered]", state="attached")


def test_a_mistyped_model_link_shows_the_known_models_and_leads_back_to_the_gallery(
    page: Page, server: str, guard: Guard
) -> None:
    guard.expect_console_error("status of 404")  # Chromium logs the page's own 404
    response = page.goto(f"{server}/models/sqrt-mlp-2x3")
    assert response is not None
    assert response.status == 404
    expect(page.locator("#error-detail")).to_contain_text("'sqrt-mlp-2x3'")
    expect(page.locator("#error-detail")).to_contain_text("sqrt-mlp-2x2")
    page.get_by_role("link", name="See every model").click()
    expect(page.locator(".card").first).to_be_visible()


@pytest.mark.guard_checked_by_test
@pytest.mark.injects
def test_the_guard_catches_and_blocks_a_request_off_the_server(page: Page, server: str, guard: Guard) -> None:
    # Negative control: if this passes, a page that used a CDN would fail the other tests.
    page.goto(server)
    add_image(page, "https://cdn.example.com/plotly.min.js")
    assert guard.external_requests == ["https://cdn.example.com/plotly.min.js"]


def test_the_api_docs_page_renders_offline_from_our_own_files(page: Page, server: str) -> None:
    page.goto(f"{server}/docs")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    expect(page.locator(".opblock-summary-path")).to_contain_text(["/api/models/{model_id}/forward"])


@pytest.mark.guard_checked_by_test
def test_the_content_security_policy_refuses_anything_off_the_server(page: Page, server: str, guard: Guard) -> None:
    # The second line of defence: even a script that tried, the browser refuses by the page's own policy.
    page.goto(server)
    add_image(page, "https://cdn.example.com/tracker.png")
    assert guard.external_requests == []  # refused before any request was made
    assert any("Content Security Policy" in e for e in guard.console_errors)
