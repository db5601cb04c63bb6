"""The text-net page in Chromium: picker, temperature, top-k, chains and model switch, all matching the API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import Guard, wait_for_state
from tests.browser.layout import misplaced_walk_targets

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


# ---- linked highlighting: the store's `hover` word, lit in every view ---------------------------------------------

LIT_SHAPES = "id => (document.getElementById(id).layout.shapes || []).filter((s) => s.name === 'lit')"
W_OUT = "document.querySelector('#weights').lastElementChild.id"


def _lit(page: Page, plot_id: str) -> list[dict[str, Any]]:
    return page.evaluate(f"({LIT_SHAPES})('{plot_id}')")  # type: ignore[no-any-return]


def _wait_lit(page: Page, count: int) -> None:
    """Until the E heatmap holds `count` lit frames (the last view the page lights)."""
    page.wait_for_function(f"() => ({LIT_SHAPES})('heat-embed').length === {count}")


def _assert_lights(page: Page, server: str, model_id: str, word: str) -> None:
    """The word's embedding point is ringed, its rows of E and W_out framed, its column of each bar panel framed."""
    detail = httpx.get(f"{server}/api/models/{model_id}").json()
    row = detail["config"]["vocab"].index(word)
    (ring,) = _lit(page, "plot-embed")
    point = detail["embedding"][row][:2]  # the plot shows dimensions 0 and 1 unless told otherwise
    assert [ring["xanchor"], ring["yanchor"]] == pytest.approx(point)
    for heat in ("heat-embed", page.evaluate(f"() => {W_OUT}")):
        (frame,) = _lit(page, heat)
        assert (frame["y0"], frame["y1"]) == (row - 0.5, row + 0.5)  # row `row` of a category axis spans row ± 0.5
    columns = _lit(page, "plot-dist")
    bars = _plot(page, "plot-dist")
    assert [c["xref"] for c in columns] == [b.get("xaxis", "x") for b in bars]  # one per panel: logits, ÷ T, p
    assert all(b["x"][round(c["x0"] + 0.5)] == word for b, c in zip(bars, columns, strict=True))
    expect(page.locator("#picker .word.lit")).to_have_text([word])
    expect(page.locator("#pairs td.lit")).to_have_count(page.locator("#pairs td", has_text=word).count())


def _point_at(page: Page, target: Locator) -> None:
    """The mouse to the middle of a plot's mark (Plotly's drag layer lies over the marks and takes the events)."""
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def _assert_unlit(page: Page) -> None:
    _wait_lit(page, 0)
    for plot in ("plot-embed", "plot-dist", page.evaluate(f"() => {W_OUT}")):
        assert _lit(page, plot) == []
    expect(page.locator("#page .lit")).to_have_count(0)


@pytest.mark.parametrize("model_id", ["textnet-2d-sgd", "textnet-4d-adam"])
def test_pointing_at_a_word_in_the_picker_lights_its_point_its_rows_and_its_bars(
    page: Page, server: str, model_id: str
) -> None:
    page.goto(f"{server}/models/{model_id}?word=dog")
    wait_for_state(page, word="dog")
    page.locator("#picker [data-word=cat]").hover()
    _wait_lit(page, 1)
    _assert_lights(page, server, model_id, "cat")
    shapes = page.evaluate("() => document.getElementById('heat-embed').layout.shapes")
    selected = [s for s in shapes if s.get("name") != "lit"]
    assert [(s["y0"], s["y1"]) for s in selected] == [(2.5, 3.5)]  # dog's own orange frame stays
    page.locator("h1").hover()
    _assert_unlit(page)
    assert "hover" not in page.url  # a moment's gesture, not part of a shared view


def test_focus_lights_a_word_as_hover_does_and_a_table_row_lights_its_input(page: Page, server: str) -> None:
    page.goto(f"{server}/models/textnet-2d-sgd?word=hello")
    wait_for_state(page, word="hello")
    page.locator("#picker [data-word=silly]").focus()
    _wait_lit(page, 1)
    _assert_lights(page, server, "textnet-2d-sgd", "silly")
    page.keyboard.press("Tab")  # to the next word, cute: the light moves with the focus
    page.wait_for_function(f"() => ({LIT_SHAPES})('heat-embed')[0]?.y0 === 5.5")
    _assert_lights(page, server, "textnet-2d-sgd", "cute")
    page.locator("#pairs tbody tr[data-word=world]").focus()
    page.wait_for_function(f"() => ({LIT_SHAPES})('heat-embed')[0]?.y0 === 0.5")
    _assert_lights(page, server, "textnet-2d-sgd", "world")
    page.locator("#seed").focus()
    _assert_unlit(page)


def test_pointing_at_a_bar_a_point_a_row_label_or_a_chain_token_lights_the_word(page: Page, server: str) -> None:
    page.goto(f"{server}/models/textnet-2d-sgd?word=dog")
    wait_for_state(page, word="dog")
    _point_at(page, page.locator("#plot-dist .barlayer .trace").nth(2).locator(".point").nth(4))  # p of "!"
    page.wait_for_function(f"() => ({LIT_SHAPES})('heat-embed')[0]?.y0 === 3.5")
    _assert_lights(page, server, "textnet-2d-sgd", "!")
    _point_at(page, page.locator("#plot-embed .scatterlayer .point").nth(0))  # hello's point
    page.wait_for_function(f"() => ({LIT_SHAPES})('heat-embed')[0]?.y0 === -0.5")
    _assert_lights(page, server, "textnet-2d-sgd", "hello")
    _point_at(page, page.locator("#heat-embed .yaxislayer-above text", has_text="world"))  # E's row label
    page.wait_for_function(f"() => ({LIT_SHAPES})('heat-embed')[0]?.y0 === 0.5")
    _assert_lights(page, server, "textnet-2d-sgd", "world")
    page.locator("#chain-sampled .token").last.hover()
    word = page.locator("#chain-sampled .token").last.text_content() or ""
    row = ["hello", "world", "cat", "dog", "!", "silly", "cute"].index(word)
    page.wait_for_function(f"() => ({LIT_SHAPES})('heat-embed')[0]?.y0 === {row - 0.5}")
    _assert_lights(page, server, "textnet-2d-sgd", word)
    expect(page.locator("#chain-sampled .token.lit").last).to_have_text(word)


def test_lighting_a_word_is_quick_and_survives_a_redraw(page: Page, server: str) -> None:
    page.goto(f"{server}/models/textnet-4d-adam?word=dog")
    wait_for_state(page, word="dog")
    took = page.evaluate("""() => {
      const times = [];
      for (const word of ['cat', 'silly', 'hello', 'world', 'cute']) {
        const start = performance.now();
        const button = document.querySelector(`#picker [data-word="${word}"]`);
        button.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
        times.push(performance.now() - start);
      }
      return Math.min(...times);
    }""")
    assert took < 100  # ms: shapes alone are relaid out, no figure is drawn again
    page.locator("#picker [data-word=cat]").hover()
    page.wait_for_timeout(600)  # past the lit keys' URL write (core/page.js): the word pointed at is not shared
    assert "hover=" not in page.url
    page.locator("#picker [data-word=cat]").click()  # a new word: every figure is drawn again, and cat stays lit
    wait_for_state(page, word="cat")
    _assert_lights(page, server, "textnet-4d-adam", "cat")


def test_on_a_phone_the_page_fits_and_the_bars_stack(page: Page, server: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{server}/models/textnet-4d-adam?word=dog")
    wait_for_state(page, word="dog")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    grid = page.evaluate("() => document.getElementById('plot-dist').layout.grid")
    assert (grid["rows"], grid["columns"]) == (3, 1)


@pytest.mark.parametrize(("width", "height", "query"), [(1366, 768, ""), (1920, 1080, "&present=1")])
def test_every_walk_stage_shows_its_target_whole_between_the_picker_and_the_walks_bar(
    page: Page, server: str, width: int, height: int, query: str
) -> None:
    page.set_viewport_size({"width": width, "height": height})
    for model_id in ("textnet-2d-sgd", "textnet-4d-adam"):
        page.goto(f"{server}/models/{model_id}?word=dog{query}")
        wait_for_state(page, word="dog")
        assert misplaced_walk_targets(page, "textnet") == [], model_id
