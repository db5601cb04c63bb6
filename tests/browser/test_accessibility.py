"""axe-core (from npm, pinned in package-lock.json) audits the gallery and every served model's page, in both modes,
on a projector's screen and a phone's: no serious or critical violation; on the transformers' pages, at every kind of
stage panel their walks show too. The API docs page (/docs) is Swagger UI's
own markup and is audited with one known exception."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from models.registry import Registry
from tests.browser.conftest import Guard, wait_for_state

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


def _kinds(stages: list[dict[str, Any]]) -> dict[int, str]:
    """The first stage of each kind of panel a walk shows (its view, and what it lays out: how many inputs and results,
    per head or not, over which axes), by index: a later block repeats an earlier block's panels."""
    first: dict[str, int] = {}
    for n, stage in enumerate(stages):
        laid = [(p["per_head"], p["concat_heads"], p["rows"], p["columns"]) for p in stage["inputs"] + stage["hooks"]]
        first.setdefault(f"{stage['view']} {len(stage['inputs'])}+{len(stage['hooks'])} {laid}", n)
    return {n: stages[n]["label"] for n in first.values()}


@pytest.mark.parametrize(("mode", "screen"), [("?present=1", "1920x1080"), ("", "390x844")], ids=["projector", "phone"])
@pytest.mark.parametrize("model_id", ["tiny-gpt", "tiny-translator"])
def test_every_kind_of_stage_panel_has_no_serious_or_critical_violation(
    page: Page, server: str, model_id: str, mode: str, screen: str
) -> None:
    width, height = SCREENS[screen]
    page.set_viewport_size({"width": width, "height": height})
    kinds = _kinds(httpx.get(f"{server}/api/models/{model_id}").json()["stages"])
    page.goto(f"{server}/models/{model_id}{mode}")
    wait_for_state(page, stage=0)
    page.locator("body").click(position={"x": 1, "y": 1})  # the clicker's keys go to the page
    found = {}
    for n in range(max(kinds) + 1):
        if n:
            page.keyboard.press("ArrowRight")
            wait_for_state(page, stage=n)
        if n in kinds and (serious := _serious(page)):
            found[f"{n} {kinds[n]}"] = serious
    assert found == {}


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
