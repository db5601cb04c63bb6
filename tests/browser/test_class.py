"""A class session in two browsers: the lecturer's drives, the student's follows (core/class.js).

Each browser is its own context (its own localStorage and sessionStorage), guarded like the `page` fixture: console
errors, page errors and requests off the server fail the test.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.conftest import LOCAL_HOSTS, Guard, stage_index, wait_for_state
from tests.servers import free_port, redis_server, serving

TEXT = "the dogs that chased the cat"  # the GPT page's first example
STORE = "/static/js/core/store.js"


@contextmanager
def browsing(browser: Browser, width: int = 1400, height: int = 900, *, expect: tuple[str, ...] = ()) -> Iterator[Page]:
    """One browser (a context of its own) with one guarded page."""
    guard = Guard()
    guard.expected.extend(expect)
    context = browser.new_context(viewport={"width": width, "height": height})

    def offline(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            guard.external_requests.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", offline)
    page = context.new_page()
    page.on("console", lambda m: guard.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: guard.page_errors.append(str(e)))
    try:
        yield page
    finally:
        context.close()
    assert guard.problems() == [], "a page logged errors or reached outside the server"


def start_class(page: Page) -> str:
    """The lecturer starts a class on the page shown; the code the dialog shows, once it is closed."""
    page.locator("#class-start").click()
    expect(page.locator("#class-dialog")).to_be_visible()
    code = page.locator("#class-code").inner_text()
    assert page.locator("#class-url").input_value().endswith(f"/join/{code}")
    page.locator("#class-dialog button[type=submit]").click()
    return code


def join(page: Page, server: str, code: str) -> None:
    page.goto(f"{server}/join/{code}")
    page.wait_for_selector("body[data-rendered]")
    assert "#class" not in page.url  # the code is kept in this tab's sessionStorage, not in the URL
    expect(page.locator("#class-status")).to_have_text(f"following the lecturer · class {code}")


def set_store(page: Page, change: dict[str, Any]) -> None:
    """As a control of the page does: the page's store set."""
    page.evaluate("async ([url, change]) => (await import(url)).pageStore().set(change)", [STORE, change])


def test_a_student_follows_every_dial_explores_catches_up_never_sees_the_secret(browser: Browser, server: str) -> None:
    qk = stage_index(server, "tiny-gpt", "block 0", "q·kᵀ")
    softmax = stage_index(server, "tiny-gpt", "block 0", "softmax")
    with browsing(browser) as lecturer, browsing(browser, 390, 844) as student:
        lecturer.goto(f"{server}/models/tiny-gpt")
        wait_for_state(lecturer, stage=0)
        code = start_class(lecturer)
        join(student, server, code)
        wait_for_state(student, text=TEXT, stage=0)

        lecturer.keyboard.press("End")  # the clicker: the last stage
        wait_for_state(student, stage=stage_index(server, "tiny-gpt", "output", "next word"))
        set_store(lecturer, {"t": 0.5})  # the temperature dial
        wait_for_state(student, temperature=0.5)
        set_store(lecturer, {"stage": qk})
        wait_for_state(student, stage=qk)
        lecturer.locator("#head").select_option("2")
        wait_for_state(student, stage=qk, head=2)
        ux = "blocks.0.attn.hook_scores_raw:2,3,1"  # a number unfolded: the student's drawer opens on it
        set_store(lecturer, {"ux": ux})
        student.wait_for_function("(ux) => document.getElementById('unfold').dataset.shown === ux", arg=ux)
        lecturer.locator("#what-if > summary").click()
        lecturer.locator('[data-experiment="why-scaling"]').click()  # a what-if: no ÷√d in block 0
        wait_for_state(student, stage=softmax)
        student.wait_for_function("() => new URLSearchParams(location.search).get('wi') === 's0'")
        expect(student.locator("#what-if-said")).to_contain_text("no ÷√d in block 0")

        # The student steps back on their own: they explore, and the lecturer's moves wait for "catch up".
        student.keyboard.press("ArrowLeft")
        wait_for_state(student, stage=softmax - 1)
        expect(student.locator("#class-status")).to_have_text(f"exploring on your own · class {code}")
        lecturer.keyboard.press("Home")
        wait_for_state(lecturer, stage=0)
        lecturer.wait_for_function("() => new URLSearchParams(location.search).get('stage') === '0'")
        student.locator("#class-catch-up").click()
        wait_for_state(student, stage=0)
        expect(student.locator("#class-status")).to_have_text(f"following the lecturer · class {code}")

        # Another page: the student's opens it too, in their own mode.
        lecturer.goto(f"{server}/models/tiny-translator")
        student.wait_for_url("**/models/tiny-translator**")
        student.wait_for_selector("body[data-rendered]")
        expect(student.locator("#class-status")).to_have_text(f"following the lecturer · class {code}")

        secret = lecturer.evaluate("() => JSON.parse(localStorage.getItem('layerwalk-class')).secret")
        assert len(secret) >= 16
        seen = student.evaluate(
            "() => [document.documentElement.outerHTML, location.href, JSON.stringify({...localStorage}),"
            " JSON.stringify({...sessionStorage})]"
        )
        assert all(secret not in text for text in seen)
        assert code in seen[3]  # what the student keeps: the code, in this tab

        lecturer.locator("#class-end").click()
        expect(student.locator("#class-status")).to_contain_text("ended")
        expect(lecturer.locator("#class-start")).to_have_text("start class")
        assert lecturer.evaluate("() => localStorage.getItem('layerwalk-class')") is None


def test_a_next_word_poll_counts_one_answer_per_browser_and_reveals_the_models_probabilities(
    browser: Browser, server: str
) -> None:
    nxt = stage_index(server, "tiny-gpt", "output", "next word")
    refused = "the server responded with a status of 409"
    with browsing(browser, 1920, 1080) as lecturer, browsing(browser, 390, 844, expect=(refused,)) as student:
        lecturer.goto(f"{server}/models/tiny-gpt?present=1&stage=0")
        wait_for_state(lecturer, stage=0)
        code = start_class(lecturer)
        expect(lecturer.locator("#class-ask-next")).to_be_disabled()  # not on the next-word stage
        join(student, server, code)
        set_store(lecturer, {"stage": nxt, "t": 2})  # a warm temperature: more than one word has a chance
        wait_for_state(student, stage=nxt, temperature=2)
        expect(lecturer.locator("#class-ask-next")).to_be_enabled()
        lecturer.locator("#class-ask-next").click()

        choices = student.locator(".class-choice-button")
        expect(choices).to_have_count(4)
        words = choices.all_inner_texts()
        projector = lecturer.locator("#class-poll .class-choice")
        assert projector.locator(".class-word").all_inner_texts() == words
        choices.nth(1).click()
        expect(student.locator(".class-answered-mine")).to_have_text(f"you answered {words[1]}")
        expect(lecturer.locator('#class-poll .class-choice[data-choice="1"]')).to_have_attribute("data-count", "1")
        expect(lecturer.locator("#class-poll .class-poll-count")).to_contain_text("1 answered")

        # The same browser in another tab: its answer is refused, and the page says why.
        again = student.context.new_page()
        again.goto(f"{server}/join/{code}")
        again.locator(".class-choice-button").first.click()
        expect(again.locator(".class-poll-message")).to_contain_text("This browser has answered this poll already")
        again.close()
        expect(lecturer.locator("#class-poll .class-poll-count")).to_contain_text("1 answered")

        lecturer.locator(".class-reveal").click()
        expect(projector.first).to_have_attribute("data-model-prob", re.compile(r"^[0-9.e-]+$"))
        shown = lecturer.locator("#class-poll .class-choice .class-number.model-share").all_inner_texts()
        sent = [float(p) for p in projector.evaluate_all("(items) => items.map((item) => item.dataset.modelProb)")]
        detail = httpx.get(f"{server}/api/models/tiny-gpt").json()
        forward = httpx.post(f"{server}/api/models/tiny-gpt/forward", json={"input": TEXT, "temperature": 2}).json()
        probs = {word: forward["output"]["probs"][detail["vocab"].index(word)] for word in words}
        assert sent == pytest.approx([probs[word] for word in words], abs=1e-6)
        assert shown == [f"model {probs[word]:.3f}" for word in words]
        assert sum(p > 0.01 for p in probs.values()) >= 2  # a poll worth asking
        top = sorted(probs.values(), reverse=True)
        assert top == sorted(forward["output"]["probs"], reverse=True)[:4]  # the choices are the model's top words
        mine = student.locator("#class-poll .class-choice .class-number.model-share")
        expect(mine).to_have_text([f"model {probs[word]:.3f}" for word in words])
        expect(lecturer.locator(".class-distribution li").first).to_contain_text(forward["output"]["prediction"])

        # The poll docks at the side and the stage it asks about stays in view beside it.
        dock = lecturer.locator("#class-poll").bounding_box()
        stage = lecturer.locator("#stage").bounding_box()
        assert dock is not None
        assert stage is not None
        assert stage["x"] + stage["width"] <= dock["x"] + 1
        assert lecturer.evaluate("() => document.documentElement.scrollWidth") <= 1920
        assert student.evaluate("() => document.documentElement.scrollWidth") <= 390


def test_a_class_spans_two_app_processes_through_redis_and_survives_redis_restarting(
    browser: Browser, tmp_path: Path
) -> None:
    """The lecturer's page is served by one process, the student's by another; only Redis joins them."""
    port = free_port()
    with ExitStack() as store:  # closed last: the app processes stop while Redis is still there
        env = {"LAYERWALK_TRAIN_WARM": "0", "LAYERWALK_REDIS_URL": store.enter_context(redis_server(port, tmp_path))}
        with (
            serving("app.main:create_app", env=env) as a,
            serving("app.main:create_app", env=env) as b,
            browsing(browser, 1920, 1080) as lecturer,
            browsing(browser, 390, 844) as student,
        ):
            qk = stage_index(a, "tiny-gpt", "block 0", "q·kᵀ")
            nxt = stage_index(a, "tiny-gpt", "output", "next word")
            lecturer.goto(f"{a}/models/tiny-gpt?present=1&stage=0")
            wait_for_state(lecturer, stage=0)
            code = start_class(lecturer)
            join(student, b, code)  # B never saw the class made: it reads it from Redis
            wait_for_state(student, text=TEXT, stage=0)
            following = lecturer.locator("#class-status")  # the student's on B (the projector's own is not counted)
            expect(following).to_have_text(f"class {code} · 1 following")

            set_store(lecturer, {"stage": qk})
            wait_for_state(student, stage=qk)
            lecturer.locator("#head").select_option("2")
            wait_for_state(student, stage=qk, head=2)

            set_store(lecturer, {"stage": nxt, "t": 2})
            wait_for_state(student, stage=nxt, temperature=2)
            lecturer.locator("#class-ask-next").click()
            choices = student.locator(".class-choice-button")
            expect(choices).to_have_count(4)
            words = choices.all_inner_texts()
            projector = lecturer.locator("#class-poll .class-choice")
            assert projector.locator(".class-word").all_inner_texts() == words
            choices.nth(2).click()
            expect(student.locator(".class-answered-mine")).to_have_text(f"you answered {words[2]}")
            expect(lecturer.locator('#class-poll .class-choice[data-choice="2"]')).to_have_attribute("data-count", "1")
            expect(lecturer.locator("#class-poll .class-poll-count")).to_contain_text("1 answered")
            lecturer.locator(".class-reveal").click()
            detail = httpx.get(f"{b}/api/models/tiny-gpt").json()
            forward = httpx.post(f"{b}/api/models/tiny-gpt/forward", json={"input": TEXT, "temperature": 2}).json()
            probs = [forward["output"]["probs"][detail["vocab"].index(word)] for word in words]
            mine = student.locator("#class-poll .class-choice .class-number.model-share")
            expect(mine).to_have_text([f"model {p:.3f}" for p in probs])

            # Redis goes away: both pages say so and keep their class; it comes back with its data, and so do they.
            warning, status = student.locator("#class-warning"), student.locator("#class-status")
            _stop_redis(port)
            expect(warning).to_have_text("connection to the class lost — retrying")
            expect(lecturer.locator("#class-warning")).to_contain_text("cannot be reached")
            store.enter_context(redis_server(port, tmp_path))
            expect(warning).to_be_hidden(timeout=15_000)
            expect(status).to_have_text(f"following the lecturer · class {code}")
            expect(lecturer.locator("#class-warning")).to_be_hidden()
            set_store(lecturer, {"stage": 0})  # the class still carries the lecturer's moves across processes
            wait_for_state(student, stage=0)


def _stop_redis(port: int) -> None:
    """Shuts the Redis on `port` down the way an operator would (its append-only file keeps the data)."""
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(b"SHUTDOWN\r\n")
        connection.recv(64)
