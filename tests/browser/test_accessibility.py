"""axe-core (from npm, pinned in package-lock.json) audits the gallery and every served model's page, in both modes,
on a projector's screen and a phone's: no serious or critical violation. The API docs page (/docs) is Swagger UI's
own markup and is audited with one known exception."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from models.registry import Registry
from tests.browser.conftest import Guard

pytestmark = [pytest.mark.browser, pytest.mark.injects]
AXE = Path(__file__).parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PAGES = ["/", *(f"/models/{model_id}" for model_id in Registry().ids())]
SCREENS = {"1920x1080": (1920, 1080), "390x844": (390, 844)}


def _serious(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']}))
        .violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => ({id: v.id, impact: v.impact, where: v.nodes.map((n) => n.target.join(' ')).slice(0, 3)}))""")
    return found


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("mode", ["", "?present=1"], ids=["normal", "presentation"])
@pytest.mark.parametrize("path", PAGES)
def test_no_serious_or_critical_accessibility_violation(
    page: Page, server: str, path: str, mode: str, screen: str
) -> None:
    width, height = SCREENS[screen]
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{server}{path}{mode}")
    if path != "/":
        page.wait_for_selector("body[data-rendered]", state="attached")
        page.wait_for_selector("#walk[data-stage], #stage-title:not(:empty)", state="attached")
    assert _serious(page) == []


def test_the_api_docs_page_has_only_swagger_uis_own_nested_buttons(page: Page, server: str) -> None:
    # Swagger UI puts focusable controls inside its operation summaries (nested-interactive); that is its markup,
    # not ours. Its missing lang and low-contrast version stamp are fixed when we serve it.
    page.goto(f"{server}/docs")
    page.wait_for_selector(".opblock-summary")
    assert {v["id"] for v in _serious(page)} <= {"nested-interactive"}


def test_the_not_found_page_has_no_serious_or_critical_violation(page: Page, server: str, guard: Guard) -> None:
    guard.expect_console_error("status of 404")  # the page's own status
    page.goto(f"{server}/models/nope")
    assert _serious(page) == []
