"""Lecture use: presentation mode on every page, and the GPT's guided walk from the keyboard."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import httpx
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.conftest import wait_for_state, walk_stages

pytestmark = pytest.mark.browser
CAPTIONS = json.loads((Path(__file__).parents[2] / "static" / "captions" / "gpt.json").read_text())["stages"]
PAGES = ["/", "/models/sqrt-mlp-2x2", "/models/textnet-2d-sgd", "/models/tiny-gpt", "/models/tiny-translator"]


def _luminance(rgb: str) -> float:
    channels = [int(c) / 255 for c in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(foreground: str, background: str) -> float:
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("path", PAGES)
def test_presentation_mode_is_large_high_contrast_and_chrome_free_at_1920(page: Page, server: str, path: str) -> None:
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{server}{path}?present=1")
    if path != "/":
        page.wait_for_selector("body[data-rendered]", state="attached")
    style = page.evaluate("""() => { const s = getComputedStyle(document.body);
        return {size: parseFloat(s.fontSize), color: s.color, background: s.backgroundColor}; }""")
    assert style["size"] >= 24
    assert _contrast(style["color"], style["background"]) >= 7
    expect(page.locator("header.site")).to_be_hidden()
    expect(page.locator("#present-toggle")).to_have_attribute("aria-pressed", "true")
    if path != "/":
        sizes = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].map((p) => p.layout.font.size)")
        assert sizes
        assert min(sizes) >= 20  # axis labels, ticks and annotations scale with the page


def test_the_toggle_switches_mode_and_keeps_every_setting(page: Page, server: str) -> None:
    page.goto(f"{server}/models/textnet-2d-sgd?word=dog&t=0.8&k=3&seed=5")
    wait_for_state(page, word="dog", temperature=0.8, top_k=3, seed=5)
    page.locator("#present-toggle").click()
    page.wait_for_url("**present=1**")
    wait_for_state(page, word="dog", temperature=0.8, top_k=3, seed=5)
    assert page.evaluate("() => document.documentElement.classList.contains('present')")
    page.locator("#present-toggle").click()
    wait_for_state(page, word="dog", temperature=0.8, top_k=3, seed=5)
    assert "present" not in page.url


def test_the_keyboard_walks_the_gpt_stages_in_order_and_back_with_captions(page: Page, server: str) -> None:
    stages = walk_stages(server, "tiny-gpt")
    last = len(stages) - 1
    page.goto(f"{server}/models/tiny-gpt")
    wait_for_state(page, stage=0)
    for n, stage in enumerate(stages):
        if n:
            page.keyboard.press(["ArrowRight", "PageDown", " "][n % 3])
        wait_for_state(page, stage=n)
        caption = CAPTIONS[stage["label"]]
        expect(page.locator("#stage-title")).to_have_text(f"{stage['group']} · {stage['label']}")
        expect(page.locator("#caption-what")).to_have_text(caption["what"])
        expect(page.locator("#caption-intuition")).to_have_text(caption["intuition"])
        expect(page.locator("#stage-count")).to_have_text(f"{n + 1} / {len(stages)}")
        assert f"stage={n}" in page.url
    expect(page.locator("#next")).to_be_disabled()
    page.keyboard.press("ArrowRight")  # past the last stage: stays
    wait_for_state(page, stage=last)
    page.keyboard.press("PageUp")
    wait_for_state(page, stage=last - 1)
    page.keyboard.press("ArrowLeft")
    wait_for_state(page, stage=last - 2)
    page.keyboard.press("Home")
    wait_for_state(page, stage=0)
    expect(page.locator("#prev")).to_be_disabled()
    page.keyboard.press("End")
    wait_for_state(page, stage=last)
    page.keyboard.press("2")
    wait_for_state(page, head=2)
    page.keyboard.press("+")
    wait_for_state(page, temperature=1.25)  # T = 1 sits at notch 45 of 100; five notches up: 5 · 0.5² = 1.25
    page.locator("#text").focus()
    page.keyboard.press("ArrowLeft")  # typing in the text box moves the caret, not the walk
    wait_for_state(page, stage=last)


@pytest.mark.parametrize(("model", "family"), [("tiny-gpt", "gpt"), ("tiny-translator", "seq2seq")])
def test_every_stage_has_a_caption_in_the_data_file(server: str, model: str, family: str) -> None:
    captions = json.loads((Path(__file__).parents[2] / "static" / "captions" / f"{family}.json").read_text())["stages"]
    labels = [stage["label"] for stage in walk_stages(server, model)]
    assert set(labels) == set(captions)  # every stage has one, and no caption is left over
    assert all(captions[label]["what"] and captions[label]["intuition"] for label in labels)


def test_share_shows_the_link_and_a_qr_code_that_decodes_to_it(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-gpt?text=dog%20bites%20man%20.&stage=7&head=2&t=0.5")
    wait_for_state(page, text="dog bites man .", stage=7, head=2)
    page.locator("#share").click()
    expect(page.locator("#share-dialog")).to_be_visible()
    expect(page.locator("#share-url")).to_have_value(page.url)
    qr = page.locator("#share-qr")
    page.wait_for_function("() => document.getElementById('share-qr').complete")
    decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.screenshot())))]
    assert decoded == [page.url]


def test_the_link_shared_from_presentation_mode_opens_in_the_readers_own_mode(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-gpt?present=1&stage=7")
    wait_for_state(page, stage=7)
    page.locator("#share").click()
    shared = page.locator("#share-url").input_value()
    assert "present=" not in shared
    assert shared == page.url.replace("present=1&", "")  # the same view: text, stage, head, sampling


def test_plots_download_as_png_and_svg_and_the_view_as_json(page: Page, server: str) -> None:
    page.goto(f"{server}/models/sqrt-mlp-2x2?x=3")
    wait_for_state(page, x=3)
    plot = page.locator("#plot-function")
    plot.hover()
    assert plot.locator('[data-title="Share chart..."]').count() == 0  # Plotly's cloud upload is removed
    with page.expect_download() as svg:
        plot.locator('[data-title="Download plot as SVG"]').click()
    assert svg.value.suggested_filename.endswith(".svg")
    assert Path(svg.value.path()).read_text().startswith("<svg")
    with page.expect_download() as png:
        plot.locator('[data-title="Download plot as a PNG"]').click()
    assert Path(png.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with page.expect_download() as saved:
        page.locator("#download-json").click()
    data = json.loads(Path(saved.value.path()).read_text())
    expected = httpx.post(f"{server}/api/models/sqrt-mlp-2x2/forward", json={"input": 3}).json()
    assert data == expected


TOURS = [
    pytest.param("/models/sqrt-mlp-2x2?x=2", "mlp", id="mlp"),
    pytest.param("/models/textnet-2d-sgd?word=dog", "textnet", id="textnet"),
]


@pytest.mark.parametrize(("path", "captions"), TOURS)
def test_each_page_walks_its_stages_from_the_keyboard_with_its_captions(
    page: Page, server: str, path: str, captions: str
) -> None:
    stages = json.loads((Path(__file__).parents[2] / "static" / "captions" / f"{captions}.json").read_text())["stages"]
    page.goto(f"{server}{path}")
    walk = page.locator("#walk")
    expect(walk).to_have_attribute("data-stage", "0")
    for n, stage in enumerate(stages):
        if n:
            page.keyboard.press(["ArrowRight", "PageDown", " "][n % 3])
        expect(walk).to_have_attribute("data-stage", str(n))
        expect(page.locator("#walk-what")).to_have_text(stage["what"])
        expect(page.locator("#walk-intuition")).to_have_text(stage["intuition"])
        expect(page.locator(f"#{stage['target']}")).to_have_class(re.compile(r"\bwalk-focus\b"))
        assert f"stage={n}" in page.url
    page.keyboard.press("ArrowLeft")
    expect(walk).to_have_attribute("data-stage", str(len(stages) - 2))
    page.keyboard.press("Home")
    expect(walk).to_have_attribute("data-stage", "0")
    page.keyboard.press("End")
    expect(walk).to_have_attribute("data-stage", str(len(stages) - 1))
    page.reload()  # a shared link opens on the same stage
    expect(walk).to_have_attribute("data-stage", str(len(stages) - 1))


def test_on_the_text_net_plus_and_minus_step_the_temperature(page: Page, server: str) -> None:
    page.goto(f"{server}/models/textnet-2d-sgd?word=cute")
    wait_for_state(page, word="cute", temperature=1)
    expect(page.locator("#walk")).to_have_attribute("data-stage", "0")  # the keys are live once the walk is
    page.keyboard.press("+")
    wait_for_state(page, word="cute", temperature=1.25)
    page.keyboard.press("-")
    page.keyboard.press("-")
    wait_for_state(page, word="cute", temperature=0.8)


def test_on_the_translator_a_digit_picks_the_head(page: Page, server: str) -> None:
    page.goto(f"{server}/models/tiny-translator?stage=7")
    wait_for_state(page, stage=7, head=0)
    expect(page.locator("#caption")).to_have_attribute("data-stage", "7")
    page.keyboard.press("3")
    wait_for_state(page, stage=7, head=3)
    expect(page.locator("#head")).to_have_value("3")
    assert "head=3" in page.url


def test_the_translator_walks_its_stages_from_the_keyboard_with_its_captions(page: Page, server: str) -> None:
    stages = walk_stages(server, "tiny-translator")
    captions = json.loads((Path(__file__).parents[2] / "static" / "captions" / "seq2seq.json").read_text())["stages"]
    page.goto(f"{server}/models/tiny-translator")
    wait_for_state(page, stage=0)
    for n, stage in enumerate(stages):
        if n:
            page.keyboard.press(["ArrowRight", "PageDown", " "][n % 3])
        wait_for_state(page, stage=n)
        expect(page.locator("#stage-title")).to_have_text(f"{stage['group']} · {stage['label']}")
        expect(page.locator("#caption-what")).to_have_text(captions[stage["label"]]["what"])
        expect(page.locator("#caption-intuition")).to_have_text(captions[stage["label"]]["intuition"])
    assert f"stage={len(stages) - 1}" in page.url
    page.keyboard.press("Home")
    wait_for_state(page, stage=0)
    page.keyboard.press("End")
    wait_for_state(page, stage=len(stages) - 1)
    page.reload()  # a shared link opens on the same stage
    wait_for_state(page, stage=len(stages) - 1)
    expect(page.locator("#stage-count")).to_have_text(f"{len(stages)} / {len(stages)}")
