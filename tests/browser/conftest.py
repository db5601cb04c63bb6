"""Browser tests: the system Chromium, driven by Playwright, against a real uvicorn server on 127.0.0.1.

Every page is guarded: console errors, page errors and any request to a host other than the test server fail the
test, and such requests are aborted, as in a lecture hall with the network unplugged.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, Route, sync_playwright

from tests.servers import serving

ROOT = Path(__file__).parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def chromium_path() -> str | None:
    """$LAYERWALK_CHROMIUM, else a system Chromium; None lets Playwright use its own download."""
    if os.environ.get("LAYERWALK_CHROMIUM"):
        return os.environ["LAYERWALK_CHROMIUM"]
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    return None


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    """The app, serving the shipped models."""
    with serving("app.main:create_app") as url:
        yield url


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
    yield browser
    browser.close()


@dataclass
class Guard:
    """What a page did that it must not: console errors, uncaught exceptions, requests off the server."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)

    def expect_console_error(self, text: str) -> None:
        """A test that provokes an error on purpose (Chromium logs every 4xx fetch) names it here."""
        self.expected.append(text)

    def problems(self) -> list[str]:
        unexpected = [e for e in self.console_errors if not any(text in e for text in self.expected)]
        return unexpected + self.page_errors + self.external_requests


@pytest.fixture
def guard() -> Guard:
    return Guard()


@pytest.fixture
def page(browser: Browser, guard: Guard, request: pytest.FixtureRequest) -> Iterator[Page]:
    injects = request.node.get_closest_marker("injects") is not None  # our test tools, not the page, need it
    context = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=injects)
    page = context.new_page()
    page.on("console", lambda m: guard.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: guard.page_errors.append(str(e)))

    def offline(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS or route.request.url.startswith("data:"):
            route.continue_()
        else:
            guard.external_requests.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", offline)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{request.node.name}.png", full_page=True)
    context.close()
    if "guard_checked_by_test" not in request.keywords:
        assert guard.problems() == [], "the page logged errors or reached outside the server"


def wait_for_state(page: Page, **state: object) -> None:
    """Until the page says (in body[data-rendered]) that it has drawn this state."""
    checks = " && ".join(f"s[{k!r}] === {v!r}" for k, v in state.items()).replace("None", "null")
    script = f"() => {{ const s = JSON.parse(document.body.dataset.rendered || '{{}}'); return {checks}; }}"
    page.wait_for_function(script)


def walk_stages(server: str, model: str) -> list[dict[str, Any]]:
    """A transformer page's walk, as its detail gives it (label, group, inputs, op, hooks, view)."""
    return httpx.get(f"{server}/api/models/{model}").json()["stages"]  # type: ignore[no-any-return]


def stage_index(server: str, model: str, group: str, label: str) -> int:
    """The walk's index of the stage with this group and label: tests find stages by name, not by a number."""
    return next(n for n, s in enumerate(walk_stages(server, model)) if (s["group"], s["label"]) == (group, label))
