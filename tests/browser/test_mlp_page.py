"""The MLP page in Chromium: the trace, the plots and the URL follow x, and every number matches the API."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import Guard, wait_for_state
from tests.browser.layout import misplaced_walk_targets

pytestmark = pytest.mark.browser
MLPS = ["sqrt-mlp-2x2", "sqrt-mlp-16x16"]


def _api_forward(server: str, model_id: str, x: float) -> dict:  # type: ignore[type-arg]
    response = httpx.post(f"{server}/api/models/{model_id}/forward", json={"input": x})
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def _wait_for_x(page: Page, x: str) -> None:
    wait_for_state(page, x=float(x))


def _trace_numbers(page: Page) -> dict[str, list[str]]:
    """The numbers the trace prints for each hook, as text."""
    rows = page.locator("#trace .step")
    return {
        row.get_attribute("data-hook") or "": row.evaluate(
            "r => (r.textContent.split(': ').slice(1).join(': ').match(/-?\\d+\\.\\d+/g) || [])"
        )
        for row in rows.all()
    }


def _expected_numbers(result: dict) -> dict[str, list[str]]:  # type: ignore[type-arg]
    return {s["name"]: [f"{v:.4f}" for v in s["data"]] for s in result["steps"]}


def _plot_marker(page: Page) -> tuple[float, float]:
    trace = page.evaluate("() => document.getElementById('plot-function').data.at(-1)")
    return trace["x"][0], trace["y"][0]


@pytest.mark.parametrize("model_id", MLPS)
def test_the_trace_and_plot_show_the_apis_numbers_and_follow_the_slider(page: Page, server: str, model_id: str) -> None:
    page.goto(f"{server}/models/{model_id}?x=4")
    _wait_for_x(page, "4")
    first = _api_forward(server, model_id, 4.0)
    assert _trace_numbers(page) == _expected_numbers(first)
    assert _plot_marker(page) == pytest.approx((4.0, first["output"]["y"]))

    page.locator("#x-slider").fill("7.25")
    _wait_for_x(page, "7.25")
    moved = _api_forward(server, model_id, 7.25)
    assert _trace_numbers(page) == _expected_numbers(moved)
    assert _trace_numbers(page) != _expected_numbers(first)
    assert _plot_marker(page) == pytest.approx((7.25, moved["output"]["y"]))
    expect(page.locator("#x-number")).to_have_value("7.25")
    assert parse_qs(urlsplit(page.url).query)["x"] == ["7.25"]


@pytest.mark.parametrize("model_id", MLPS)
def test_the_function_plot_draws_the_nets_curve_and_every_kink(page: Page, server: str, model_id: str) -> None:
    detail = httpx.get(f"{server}/api/models/{model_id}").json()
    page.goto(f"{server}/models/{model_id}?x=2")
    _wait_for_x(page, "2")
    plot = page.evaluate("""() => {
        const el = document.getElementById('plot-function');
        const curve = el.data.find((t) => t.name === 'net f(x)');
        return {x: curve.x, y: curve.y, lines: el.layout.shapes.filter((s) => s.type === 'line').map((s) => s.x0)};
    }""")
    assert list(zip(plot["x"], plot["y"], strict=True)) == [tuple(p) for p in detail["analysis"]["curve"]]
    assert plot["lines"] == [p["x"] for p in detail["analysis"]["breakpoints"]]
    region = _api_forward(server, model_id, 2.0)["output"]["region"]
    expect(page.locator("#plot-function")).to_contain_text(f"y = {region['slope']:.4f}·x")
    expect(page.locator("#regions tr.current")).to_have_count(1)


def test_a_reload_or_shared_link_restores_x(page: Page, server: str) -> None:
    page.goto(f"{server}/models/sqrt-mlp-2x2?x=3")
    _wait_for_x(page, "3")
    page.locator("#x-number").fill("6.5")
    page.locator("#x-number").press("Enter")
    _wait_for_x(page, "6.5")
    page.reload()
    _wait_for_x(page, "6.5")
    expect(page.locator("#x-slider")).to_have_value("6.5")


def test_relus_that_are_off_are_marked_in_the_trace_the_tables_and_the_diagram(page: Page, server: str) -> None:
    result = _api_forward(server, "sqrt-mlp-16x16", 1.0)
    hidden_z = [s["data"] for s in result["steps"] if s["name"].endswith("hook_z")][:-1]
    off = sum(v <= 0 for z in hidden_z for v in z)
    assert off > 0
    page.goto(f"{server}/models/sqrt-mlp-16x16?x=1")
    _wait_for_x(page, "1")
    expect(page.locator("#trace .off")).to_have_count(off)
    expect(page.locator("#layers tr.off")).to_have_count(off)
    expect(page.locator("#network circle.off")).to_have_count(off)


def test_x_outside_the_domain_is_drawn_and_flagged_as_extrapolating(page: Page, server: str) -> None:
    page.goto(f"{server}/models/sqrt-mlp-2x2?x=4")
    _wait_for_x(page, "4")
    expect(page.locator("#extrapolating")).to_be_hidden()
    page.locator("#x-number").fill("11.5")
    page.locator("#x-number").press("Enter")
    _wait_for_x(page, "11.5")
    expect(page.locator("#extrapolating")).to_be_visible()
    assert _plot_marker(page) == pytest.approx((11.5, _api_forward(server, "sqrt-mlp-2x2", 11.5)["output"]["y"]))


def test_an_out_of_range_x_shows_the_servers_message_and_keeps_the_last_view(
    page: Page, server: str, guard: Guard
) -> None:
    guard.expect_console_error("status of 422")
    page.goto(f"{server}/models/sqrt-mlp-2x2?x=4")
    _wait_for_x(page, "4")
    with page.expect_response(lambda r: r.url.endswith("/forward") and r.status == 422):
        page.locator("#x-number").fill("5000")
        page.locator("#x-number").press("Enter")
    expect(page.locator("#error")).to_contain_text("5000.0 is out of range")
    expect(page.locator("#error")).to_contain_text("between -1000 and 1000")
    assert page.evaluate("() => JSON.parse(document.body.dataset.rendered).x") == 4


def test_the_controls_wait_for_the_first_render(page: Page, server: str) -> None:
    held: list[Route] = []
    page.route("**/forward", lambda route: held.append(route))
    page.goto(f"{server}/models/sqrt-mlp-2x2?x=3")
    while not held:  # each wait lets Playwright deliver the intercepted request to the handler
        page.wait_for_timeout(20)
    expect(page.locator("#x-slider")).to_be_disabled()
    held[0].continue_()
    page.unroute("**/forward")
    _wait_for_x(page, "3")
    expect(page.locator("#x-slider")).to_be_enabled()
    expect(page.locator("#x-number")).to_be_enabled()


def test_a_refused_x_asked_while_another_was_on_the_wire_leaves_the_link_and_box_on_the_drawn_x(
    page: Page, server: str, guard: Guard
) -> None:
    guard.expect_console_error("status of 422")
    page.goto(f"{server}/models/sqrt-mlp-2x2?x=4")
    _wait_for_x(page, "4")
    held: list[Route] = []
    page.route("**/forward", lambda route: route.continue_() if held else held.append(route))  # holds the first
    page.locator("#x-slider").fill("3")  # on the wire, held
    while not held:
        page.wait_for_timeout(20)
    page.locator("#x-number").fill("5000")  # asked for while x = 3 is still on the wire
    page.locator("#x-number").press("Enter")
    held[0].continue_()
    expect(page.locator("#error")).to_contain_text("5000.0 is out of range")
    _wait_for_x(page, "3")
    expect(page.locator("#x-number")).to_have_value("3")
    assert parse_qs(urlsplit(page.url).query)["x"] == ["3"]


def _lit(page: Page) -> dict[str, Any]:
    """What is lit now: the kinks drawn orange (views/plotly.js ORANGE) in f(x), the unit panels and the neurons."""
    lit: dict[str, Any] = page.evaluate("""() => {
        const plot = document.getElementById('plot-function');
        const kinks = plot.layout.shapes.slice(1).flatMap((s, i) => (s.line.color === '#e08214' ? [i] : []));
        return {kinks, attribute: plot.dataset.litKinks,
                panels: [...document.querySelectorAll('.unit-panel.lit')].map((p) => p.dataset.unit),
                neurons: [...document.querySelectorAll('#network circle.lit')].map((c) => c.dataset.unit)};
    }""")
    return lit


def _key(unit: dict) -> str:  # type: ignore[type-arg]
    return f"{unit['layer']}:{unit['unit']}"


@pytest.mark.parametrize("model_id", MLPS)
def test_a_unit_panel_hovered_or_focused_lights_its_kinks_in_f_and_its_neuron(
    page: Page, server: str, model_id: str
) -> None:
    analysis = httpx.get(f"{server}/api/models/{model_id}").json()["analysis"]
    page.goto(f"{server}/models/{model_id}?x=4")
    _wait_for_x(page, "4")
    expect(page.locator(".unit-panel")).to_have_count(len(analysis["units"]))
    unit = next(u for u in analysis["units"] if u["switches"])
    kinks = [s["breakpoint"] for s in unit["switches"]]
    panel = page.locator(f'.unit-panel[data-unit="{_key(unit)}"]')
    leave: list[tuple[Callable[[], None], Callable[[], None]]] = [
        (panel.hover, lambda: page.mouse.move(0, 0)),
        (panel.focus, panel.blur),
    ]
    for start, stop in leave:
        start()
        expect(panel).to_have_class(re.compile(r"\blit\b"))
        assert _lit(page) == {
            "kinks": kinks,
            "attribute": ",".join(map(str, kinks)),
            "panels": [_key(unit)],
            "neurons": [_key(unit)],
        }
        stop()
        expect(panel).not_to_have_class(re.compile(r"\blit\b"))
        assert _lit(page) == {"kinks": [], "attribute": "", "panels": [], "neurons": []}


@pytest.mark.parametrize("model_id", MLPS)
def test_each_unit_panel_is_named_with_its_state_at_x_and_its_switch_points(
    page: Page, server: str, model_id: str
) -> None:
    analysis = httpx.get(f"{server}/api/models/{model_id}").json()["analysis"]
    steps = {s["name"]: s["data"] for s in _api_forward(server, model_id, 4.0)["steps"]}
    page.goto(f"{server}/models/{model_id}?x=4")
    _wait_for_x(page, "4")
    page.locator("#units").scroll_into_view_if_needed()  # the panels show x once they are on screen (views/units.js)
    page.wait_for_function(r"() => /: (on|off) \(/.test(document.querySelector('.unit-panel').ariaLabel)")
    for unit in analysis["units"]:
        on = steps[f"layers.{unit['layer']}.hook_z"][unit["unit"]] > 0
        switches = ", ".join(f"{'on' if s['turns_on'] else 'off'} at x = {s['x']:.2f}" for s in unit["switches"])
        name = page.locator(f'.unit-panel[data-unit="{_key(unit)}"]').get_attribute("aria-label") or ""
        assert name.startswith(f"layer {unit['layer'] + 1} unit {unit['unit']}: {'on' if on else 'off'}"), name
        assert name.endswith(f"switches {switches}" if switches else "never switches in [0, 10]"), name


def test_a_kink_hovered_in_f_or_a_region_row_focused_lights_the_units_that_switch_there(
    page: Page, server: str
) -> None:
    analysis = httpx.get(f"{server}/api/models/sqrt-mlp-16x16").json()["analysis"]
    page.goto(f"{server}/models/sqrt-mlp-16x16?x=4")
    _wait_for_x(page, "4")
    xs = [0.0, *(p["x"] for p in analysis["breakpoints"]), 10.0]
    far = [k for k in range(len(xs) - 2) if abs(xs[k + 1] - 4.0) > 0.5]  # from the x marker, which hovers too
    i = max(far, key=lambda k: min(xs[k + 1] - xs[k], xs[k + 2] - xs[k + 1]))  # the loneliest kink
    page.locator("#plot-function").scroll_into_view_if_needed()
    x, y = page.evaluate(f"""() => {{
        const plot = document.getElementById('plot-function');
        const kinks = plot.data.find((t) => t.name === 'kinks');
        const {{ xaxis, yaxis }} = plot._fullLayout;
        const box = plot.querySelector('.nsewdrag').getBoundingClientRect();
        return [box.left + xaxis.l2p(kinks.x[{i}]), box.top + yaxis.l2p(kinks.y[{i}])];
    }}""")
    page.mouse.move(x - 4, y)
    page.mouse.move(x, y)
    switched = sorted(_key(u) for u in analysis["breakpoints"][i]["switched"])
    page.wait_for_function(f"() => document.getElementById('plot-function').dataset.litKinks === '{i}'")
    assert sorted(_lit(page)["panels"]) == switched
    page.mouse.move(0, 0)
    page.wait_for_function("() => document.getElementById('plot-function').dataset.litKinks === ''")

    page.locator('#regions tbody tr[data-region="3"]').focus()  # region 3 lies between breakpoints 2 and 3
    ends = sorted(_key(u) for k in (2, 3) for u in analysis["breakpoints"][k]["switched"])
    assert _lit(page)["kinks"] == [2, 3]
    assert sorted(_lit(page)["panels"]) == ends


def _units_named(text: str) -> list[list[int]]:
    """'L1: 0–2, 5 · L2: none' → [[0, 1, 2, 5], []]"""
    layers = []
    for part in text.split(" · "):
        ids = part.split(": ", 1)[1]
        runs = [] if ids == "none" else [r.split("–") for r in ids.split(", ")]
        layers.append([j for r in runs for j in range(int(r[0]), int(r[-1]) + 1)])
    return layers


@pytest.mark.parametrize("model_id", MLPS)
def test_the_regions_table_names_the_units_on_in_each_region(page: Page, server: str, model_id: str) -> None:
    regions = httpx.get(f"{server}/api/models/{model_id}").json()["analysis"]["regions"]
    page.goto(f"{server}/models/{model_id}?x=4")
    _wait_for_x(page, "4")
    cells = page.locator("#regions td.units-on").all_text_contents()
    assert [_units_named(text) for text in cells] == [
        [[j for j, on in enumerate(layer) if on] for layer in r["active"]] for r in regions
    ]
    assert all(text.startswith("L1: ") and " · L2: " in text for text in cells)


@pytest.mark.parametrize("model_id", MLPS)
def test_on_a_390_px_phone_the_page_is_no_wider_than_the_screen(page: Page, server: str, model_id: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{server}/models/{model_id}?x=4")
    _wait_for_x(page, "4")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390


@pytest.mark.parametrize("model_id", MLPS)
def test_at_1366_by_768_each_walk_stage_fits_between_the_x_control_and_the_walks_bar(
    page: Page, server: str, model_id: str
) -> None:
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{server}/models/{model_id}?x=4")
    _wait_for_x(page, "4")
    assert misplaced_walk_targets(page, "mlp") == []
