"""The training scrubber in Chromium (static/js/views/scrubber.js): every page draws the checkpoint the store's `ck`
names, from the API's answers at that checkpoint, and the URL keeps it."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Guard, stage_index, wait_for_state

pytestmark = pytest.mark.browser


def _detail(server: str, model_id: str, checkpoint: int | None = None) -> dict[str, Any]:
    query = {} if checkpoint is None else {"checkpoint": checkpoint}
    response = httpx.get(f"{server}/api/models/{model_id}", params=query)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def _post(server: str, model_id: str, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{server}/api/models/{model_id}/{endpoint}", json=body)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def _url_ck(page: Page) -> list[str]:
    return parse_qs(urlsplit(page.url).query).get("ck", [])


def _kinks_drawn(page: Page) -> list[float]:
    return page.evaluate(  # type: ignore[no-any-return]
        "() => document.getElementById('plot-function').data.find((t) => t.name === 'kinks').x"
    )


def _greedy_chain(server: str, word: str, checkpoint: int) -> str:
    answer = _post(server, "textnet-2d-sgd", "generate", {"prompt": word, "temperature": 0, "checkpoint": checkpoint})
    return " → ".join([word, *(step["token"] for step in answer["steps"])])


def test_scrubbing_the_mlp_draws_the_checkpoints_kinks_and_marks_the_loss_curve(page: Page, server: str) -> None:
    model = "sqrt-mlp-2x2"
    saved = _detail(server, model)["checkpoints"]
    final = [p["x"] for p in _detail(server, model)["analysis"]["breakpoints"]]
    page.goto(f"{server}/models/{model}")
    wait_for_state(page, x=4, checkpoint=None)
    assert _kinks_drawn(page) == final
    expect(page.locator("#ck-label")).to_contain_text("final weights")

    slider = page.locator("#ck-slider")
    slider.focus()
    page.keyboard.press("Home")  # the slider's own keys: the first saved step
    wait_for_state(page, checkpoint=saved[0])
    page.keyboard.press("ArrowRight")  # the next saved step (the steps are uneven: the slider runs by index)
    early = saved[1]
    wait_for_state(page, checkpoint=early)
    at_early = _detail(server, model, early)["analysis"]
    kinks = [p["x"] for p in at_early["breakpoints"]]
    assert kinks != final  # the net at that step had its kinks elsewhere
    assert _kinks_drawn(page) == kinks
    expect(page.locator("#regions tbody tr")).to_have_count(len(at_early["regions"]))
    loss = _detail(server, model)["training"]["trajectory"]["checkpoints"][1]["loss"]
    expect(page.locator("#ck-label")).to_have_text(f"epoch {early} of {saved[-1]} · loss {loss:.3f}")
    assert _url_ck(page) == [str(early)]
    line = page.evaluate("() => document.getElementById('plot-loss').layout.shapes")
    assert [(s["x0"], s["x1"]) for s in line] == [(early, early)]
    # The forward pass is the checkpoint's too: the trace's output is its y.
    y = _post(server, model, "forward", {"input": 4, "checkpoint": early})["output"]["y"]
    y_drawn = page.evaluate("() => document.getElementById('plot-function').data.at(-1).y[0]")
    assert y_drawn == pytest.approx(y)

    page.keyboard.press("End")  # back to the final weights: the URL says so
    wait_for_state(page, checkpoint=None)
    assert _kinks_drawn(page) == final
    assert _url_ck(page) == ["-1"]


def test_the_text_net_moves_its_words_and_its_greedy_chain_reaches_dog_late(page: Page, server: str) -> None:
    model = "textnet-2d-sgd"
    saved = _detail(server, model)["checkpoints"]
    chains = {ck: _greedy_chain(server, "cat", ck) for ck in saved}
    stuck = [ck for ck in saved if "dog → dog" in chains[ck]]
    assert stuck, "the trained net's greedy chain from 'cat' ends in dog → dog"
    first = stuck[0]
    assert first > saved[0]  # reached late,
    assert stuck == saved[saved.index(first) :]  # then kept

    def points() -> list[list[float]]:
        trace = page.evaluate("() => document.getElementById('plot-embed').data[0]")
        return [list(p) for p in zip(trace["x"], trace["y"], strict=True)]

    def greedy_text() -> str:
        text = page.locator("#chain-greedy .token").all_inner_texts()
        return " → ".join(text)

    page.goto(f"{server}/models/{model}?word=cat&ck={saved[0]}")
    wait_for_state(page, word="cat", checkpoint=saved[0])
    at_start = _detail(server, model, saved[0])
    assert points() == at_start["embedding"]
    assert greedy_text() == chains[saved[0]]
    assert "dog → dog" not in greedy_text()
    pairs = page.locator("#pairs tbody tr td:nth-child(3)").all_inner_texts()
    assert pairs == [p["predicted"] for p in at_start["predictions"]]

    before = saved[saved.index(first) - 1]  # the last step before the chain is stuck on dog, then the first
    for ck in (before, first):
        page.goto(f"{server}/models/{model}?word=cat&ck={ck}")
        wait_for_state(page, word="cat", checkpoint=ck)
        assert greedy_text() == chains[ck]
    expect(page.locator("#chain-greedy [data-stop=loop]")).to_have_text("stuck: dog → dog")

    page.locator("#ck-slider").focus()
    page.keyboard.press("End")
    wait_for_state(page, word="cat", checkpoint=None)
    final = _detail(server, model)
    assert points() == final["embedding"] != at_start["embedding"]  # the words moved as it trained
    assert greedy_text() == chains[saved[-1]]


def test_play_steps_through_the_checkpoints_and_stops_at_the_final_weights(page: Page, server: str) -> None:
    saved = _detail(server, "textnet-2d-sgd")["checkpoints"]
    page.goto(f"{server}/models/textnet-2d-sgd?ck={saved[-3]}")
    wait_for_state(page, checkpoint=saved[-3])
    page.locator("#ck-play").click()
    expect(page.locator("#ck-play")).to_have_attribute("aria-pressed", "true")
    wait_for_state(page, checkpoint=None)
    expect(page.locator("#ck-play")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#ck-label")).to_have_text(f"final weights (epoch {saved[-1]})")


def test_the_gpt_at_a_checkpoint_shows_that_forward_answers_attention(page: Page, server: str) -> None:
    saved = _detail(server, "tiny-gpt")["checkpoints"]
    assert len(saved) > 2
    early = saved[1]
    text = "the dogs that chased the cat"
    softmax = stage_index(server, "tiny-gpt", "block 1", "softmax")
    page.goto(f"{server}/models/tiny-gpt?stage={softmax}&head=1&ck={early}")
    wait_for_state(page, stage=softmax, head=1, checkpoint=early)
    hook = "blocks.1.attn.hook_pattern"
    then = _post(server, "tiny-gpt", "forward", {"input": text, "checkpoint": early, "hooks": [hook]})
    now = _post(server, "tiny-gpt", "forward", {"input": text, "hooks": [hook]})
    assert then["checkpoint"] == early
    pattern = then["steps"][0]["data"][1]
    assert pattern != now["steps"][0]["data"][1]
    plot = f'#stage-plots [data-hook="{hook}"][data-head="1"]'
    drawn = page.evaluate(f"() => document.querySelector('{plot}').data[0].z")
    assert drawn == pattern


def test_ck_survives_a_reload_and_the_walk(page: Page, server: str) -> None:
    saved = _detail(server, "sqrt-mlp-16x16")["checkpoints"]
    ck = saved[len(saved) // 3]
    page.goto(f"{server}/models/sqrt-mlp-16x16?ck={ck}")
    wait_for_state(page, checkpoint=ck)
    page.reload()
    wait_for_state(page, checkpoint=ck)
    expect(page.locator("#ck-slider")).to_have_value(str(saved.index(ck)))
    page.locator("#walk-next").click()
    expect(page.locator("#walk-step")).to_contain_text("2 / ")
    page.wait_for_function("() => new URLSearchParams(location.search).get('stage') === '1'")
    assert _url_ck(page) == [str(ck)]
    page.locator("#walk-prev").click()
    expect(page.locator("#walk-step")).to_contain_text("1 / ")
    page.wait_for_function(f"() => new URLSearchParams(location.search).get('ck') === '{ck}'")
    assert parse_qs(urlsplit(page.url).query)["stage"] == ["0"]
    expect(page.locator("#ck-label")).to_contain_text(f"epoch {ck} of {saved[-1]}")


def test_a_step_that_was_not_saved_falls_back_to_the_final_weights(page: Page, server: str, guard: Guard) -> None:
    guard.expect_console_error("422")  # the link's first request goes out before the detail lists the saved steps
    saved = _detail(server, "sqrt-mlp-2x2")["checkpoints"]
    unsaved = next(n for n in range(saved[-1]) if n not in saved)
    page.goto(f"{server}/models/sqrt-mlp-2x2?ck={unsaved}")
    wait_for_state(page, checkpoint=None)
    expect(page.locator("#ck-label")).to_contain_text("final weights")


def test_minilm_says_it_has_no_training_to_scrub(page: Page, server: str) -> None:
    why = _detail(server, "minilm-l6")["no_trajectory"]
    assert why
    page.goto(f"{server}/models/minilm-l6")
    page.wait_for_selector("body[data-rendered]")
    expect(page.locator("#scrubber")).to_have_text(f"No training to scrub: {why}.")
    expect(page.locator("#ck-slider")).to_have_count(0)


def test_the_translators_alignment_at_a_checkpoint_is_that_forward_answers(page: Page, server: str) -> None:
    saved = _detail(server, "tiny-translator")["checkpoints"]
    early = saved[len(saved) // 4]
    src, tgt = "the black cat sleeps .", "le chat noir dort ."
    page.goto(f"{server}/models/tiny-translator?src={src}&tgt={tgt}&layer=1&ck={early}")
    wait_for_state(page, src=src, tgt=tgt, checkpoint=early)
    then = _post(server, "tiny-translator", "forward", {"input": src, "target": tgt, "checkpoint": early})
    now = _post(server, "tiny-translator", "forward", {"input": src, "target": tgt})
    assert then["alignment"][1] != now["alignment"][1]
    assert page.evaluate("() => document.getElementById('plot-align').data[0].z") == then["alignment"][1]
