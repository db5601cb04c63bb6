"""Train it live, in Chromium: the text-net page streams a run, its plane and loss curve move, and done shows the
record's figures; a race draws two runs; a setting the server refuses shows the server's message."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from models.registry import WEIGHTS_DIR
from tests.browser.conftest import Guard, wait_for_state

pytestmark = pytest.mark.browser
RUN_S = 60_000  # ms: a run on a busy machine, with the page drawing beside it


def _plot(page: Page, plot_id: str) -> list[dict[str, Any]]:
    return page.evaluate(f"() => document.getElementById('{plot_id}').data")  # type: ignore[no-any-return]


def _done(page: Page) -> None:
    expect(page.locator("#live-scrub")).to_be_enabled(timeout=RUN_S)  # the scrubber opens when the stream ends


def test_the_shipped_settings_train_live_into_the_dog_trap(page: Page, server: str) -> None:
    page.goto(f"{server}/models/textnet-2d-sgd")
    wait_for_state(page, word="hello")
    record = json.loads((WEIGHTS_DIR / "textnet-2d-sgd.json").read_text())
    # the form starts at the page's model's own settings
    assert [page.locator(f"#live-{k}").input_value() for k in ("optimizer", "lr", "seed", "epochs", "width")] == [
        "sgd", "0.1", "27", "500", "2",
    ]  # fmt: skip
    page.locator("#live-train").click()
    expect(page.locator("#live-stop")).to_be_enabled()
    _done(page)
    final = record["metrics"]["final_loss"]
    expect(page.locator("#live-status")).to_have_text(f"done: 500 epochs, final loss {final:.4f}, 3 of 6 pairs right")
    expect(page.locator("#live-summary-0")).to_contain_text("Greedy chains stuck: hello → dog → dog → dog")
    loss = _plot(page, "live-loss")[0]
    assert loss["x"][-1] == 500
    assert len(loss["x"]) == 250  # an event every 2 epochs
    rows = page.locator("#live-table-0 tbody tr").all()
    assert [r.locator("td").nth(2).inner_text() for r in rows] == [p["predicted"] for p in record["predictions"]]
    end = _plot(page, "live-plot-0")[0]
    # drag the scrubber back to the first epoch received: the words stand where the net started
    page.locator("#live-scrub").fill("0")
    expect(page.locator("#live-scrub-shown")).to_have_text("2")
    start = _plot(page, "live-plot-0")[0]
    assert start["text"] == end["text"] == record["config"]["vocab"]
    assert start["x"] != end["x"]
    expect(page.locator("#live-status")).to_contain_text("epoch 2 of 500")


def test_a_race_trains_sgd_and_adam_side_by_side(page: Page, server: str) -> None:
    page.goto(f"{server}/models/textnet-2d-sgd")
    wait_for_state(page, word="hello")
    page.locator("#live-epochs").fill("60")
    page.locator("#live-race").click()
    _done(page)
    expect(page.locator(".live-run")).to_have_count(2)
    expect(page.locator(".live-run h3")).to_have_text(["SGD, lr 0.1", "Adam, lr 0.1"])
    lines = [t for t in _plot(page, "live-loss") if t["mode"] == "lines"]
    assert [t["name"] for t in lines] == ["SGD", "Adam"]
    assert [t["x"][-1] for t in lines] == [60, 60]
    assert lines[0]["y"] != lines[1]["y"]  # the same seed, two optimizers, two curves
    expect(page.locator("#live-status")).to_contain_text("SGD: done: 60 epochs")
    expect(page.locator("#live-status")).to_contain_text("Adam: done: 60 epochs")


def test_a_refused_setting_shows_the_servers_message(page: Page, server: str, guard: Guard) -> None:
    guard.expect_console_error("422")
    page.goto(f"{server}/models/sqrt-mlp-2x2")
    expect(page.locator("#live-train")).to_be_visible()
    page.locator("#live-lr").fill("0")
    page.locator("#live-train").click()
    expect(page.locator("#error")).to_have_text(
        "lr: 0.0 is not a learning rate. Send a number above 0 and at most 1000, e.g. 0.1. (HTTP 422)"
    )
    expect(page.locator("#live-train")).to_be_enabled()
