"""A user's own Hugging Face folder (LAYERWALK_MODEL_DIRS), served by a real server: a GPT-2 folder gets the GPT page
(the walk, an unfolded number, the next word) with its provenance, and a folder that cannot be served is listed as
unavailable with its problem while the server serves the rest."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import stage_index, wait_for_state
from tests.models.test_hf_gpt2 import tiny_folder
from tests.servers import serving

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def folder_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("models")
    tiny_folder(root / "my-gpt2")
    tiny_folder(root / "wide-gpt2", vocab_size=50_257)  # GPT-2's own vocabulary size
    (root / "broken").mkdir()
    (root / "broken" / "config.json").write_text('{"model_type": "t5"}')
    with serving("app.main:create_app", env={"LAYERWALK_MODEL_DIRS": str(root)}) as url:
        yield url


def test_a_gpt2_folder_gets_the_gpt_page_and_a_broken_one_is_listed_with_its_problem(
    page: Page, folder_server: str
) -> None:
    models = {m["id"]: m for m in httpx.get(f"{folder_server}/api/models").json()}
    assert models["broken"]["available"] is False
    assert "t5" in models["broken"]["problem"]
    assert models["my-gpt2"]["provenance"]["summary"] == "loaded from your folder"

    page.goto(folder_server)
    expect(page.locator("body")).to_contain_text("loaded from your folder")
    stage = stage_index(folder_server, "my-gpt2", "block 0", "q·kᵀ")
    page.goto(f"{folder_server}/models/my-gpt2?text=hello%20world&stage={stage}")
    wait_for_state(page, text="hello world", stage=stage)
    expect(page.locator("#stage-plots .plot")).to_have_count(3)  # Q | K → raw scores
    page.locator('#stage-plots [data-role="raw scores"]').focus()
    page.keyboard.press("Enter")  # the lit cell (0, 0) unfolds into its dot product
    page.wait_for_function("() => (document.getElementById('unfold').dataset.shown ?? '').includes('hook_scores_raw')")
    expect(page.locator("#unfold-title")).to_contain_text("raw scores, head 0")
    expect(page.locator("#tokens")).to_contain_text("␣")  # GPT-2's leading-space pieces, seen
    expect(page.locator("#plot-next .bars, #plot-next .barlayer").first).to_be_attached()


def test_a_wide_vocabulary_shows_its_likeliest_tokens_and_unfolds_them_by_id(page: Page, folder_server: str) -> None:
    text = "the%20dog%20bites"
    answer = httpx.post(
        f"{folder_server}/api/models/wide-gpt2/forward", json={"input": "the dog bites", "hooks": ["hook_logits"]}
    ).json()
    columns = answer["steps"][0]["columns"]
    stage = stage_index(folder_server, "wide-gpt2", "output", "next word")
    page.goto(f"{folder_server}/models/wide-gpt2?text={text}&stage={stage}")
    wait_for_state(page, text="the dog bites", stage=stage)
    expect(page.locator("#panel-next")).to_contain_text("the 64 likeliest of 50,257 tokens")
    bars = page.evaluate("() => document.getElementById('panel-next').data[0].customdata")
    assert bars == answer["output"]["ids"]  # most likely first: the chart's order is the answer's
    expect(page.locator("details.vocabulary")).to_contain_text("Too many to list")  # not 50,257 buttons

    stage = stage_index(folder_server, "wide-gpt2", "output", "logits")
    page.goto(f"{folder_server}/models/wide-gpt2?text={text}&stage={stage}")
    wait_for_state(page, text="the dog bites", stage=stage)
    logits = page.locator('#stage-plots [data-role="logits"]')
    expect(logits).to_contain_text("the 64 likeliest of 50,257")
    logits.focus()
    page.keyboard.press("Enter")  # the lit row's first column: the id it shows, not column 0 of the vocabulary
    page.wait_for_function(f"() => document.getElementById('unfold').dataset.shown === 'hook_logits:0,{columns[0]}'")
    shown = answer["steps"][0]["data"][0][0]
    expect(page.locator("#unfold")).to_contain_text(f"{shown:.4f}".rstrip("0"))


def test_folder_models_do_not_touch_the_shipped_ones(folder_server: str) -> None:
    shipped = httpx.get(f"{folder_server}/api/models/tiny-gpt").json()
    assert shipped["id"] == "tiny-gpt"
    assert httpx.get(f"{folder_server}/api/models/broken").status_code == 404
