"""Kept passes: bounded in bytes, least recently used first out, and a response from a kept pass is the one a
fresh pass gives, whatever the sampling settings did in between."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
import torch

from app.config import Settings
from app.main import create_app
from app.passes import KeptPass, PassCache
from tests.app.conftest import Client


def kept(size: int) -> KeptPass:
    return KeptPass({"steps": b"[" + b"0" * (size - 2) + b"]"}, torch.zeros(0))


def test_the_store_keeps_at_most_its_bytes_dropping_the_least_recently_used() -> None:
    passes = PassCache(max_bytes=300)
    made: list[str] = []

    def make(key: str) -> KeptPass:
        made.append(key)
        return kept(100)

    for key in ["a", "b", "c", "a", "d"]:  # "a" is used again before "d" arrives, so "b" is the one dropped
        passes.get(key, functools.partial(make, key))
    assert made == ["a", "b", "c", "d"]
    assert (passes.hits, passes.misses, len(passes), passes.nbytes) == (1, 4, 3, 300)
    passes.get("b", lambda: make("b"))
    assert made[-1] == "b", "b was dropped, so it is made again"
    passes.get("a", lambda: make("a"))
    assert made[-1] == "b", "a was still kept"


def test_a_pass_larger_than_the_store_is_served_but_not_kept() -> None:
    passes = PassCache(max_bytes=50)
    assert passes.get("big", lambda: kept(100)).nbytes == 100
    assert (len(passes), passes.nbytes) == (0, 0)


CASES: list[tuple[str, dict[str, Any]]] = [
    ("sqrt-mlp-16x16", {"input": 4.2}),
    ("textnet-4d-adam", {"input": "cat", "temperature": 30 / 7}),
    ("tiny-gpt", {"input": "the dogs that chased the cat", "temperature": 0.5, "top_k": 3}),
    ("tiny-translator", {"input": "the black cat sleeps .", "target": "le", "top_p": 0.5}),
]


@pytest.mark.parametrize(("model_id", "body"), CASES)
def test_a_kept_pass_answers_exactly_as_a_fresh_one_even_after_a_penalty(model_id: str, body: dict[str, Any]) -> None:
    fresh = Client(create_app(Settings(cache_bytes=0)))  # keeps nothing: every request runs the model
    keeping = Client(create_app(Settings()))
    url = f"/api/models/{model_id}/forward"
    penalised = {**body, "repetition_penalty": 3.0} if isinstance(body["input"], str) else body
    first = keeping.post(url, json=penalised)
    again = keeping.post(url, json=body)  # from the kept pass, after a request that penalised its logits
    assert keeping.app.state.passes.hits == 1
    assert fresh.app.state.passes.hits == 0
    assert first.status_code == again.status_code == 200
    assert again.headers["content-type"] == "application/json"
    assert json.loads(again.content) == fresh.post(url, json=body).json()
    assert json.loads(first.content) == fresh.post(url, json=penalised).json()


def test_minus_zero_is_not_served_the_answer_kept_for_zero() -> None:
    client = Client(create_app(Settings()))
    url = "/api/models/sqrt-mlp-2x2/forward"
    assert client.post(url, json={"input": 0.0}).json()["input"] == 0.0
    echoed = client.post(url, content=b'{"input": -0.0}', headers={"content-type": "application/json"}).content
    assert b'"input":-0.0' in echoed


def test_a_kept_distribution_serves_only_the_same_settings_and_the_same_penalised_words() -> None:
    fresh = Client(create_app(Settings(cache_bytes=0)))
    keeping = Client(create_app(Settings()))
    url = "/api/models/textnet-2d-sgd/forward"
    bodies: list[dict[str, Any]] = [  # all read "dog"; the penalty falls on the words before it
        {"input": "cat dog", "temperature": 0.8, "repetition_penalty": 2.0},
        {"input": "dog dog", "temperature": 0.8, "repetition_penalty": 2.0},
        {"input": "cat dog", "temperature": 0.8, "repetition_penalty": 2.0},
        {"input": "cat dog", "temperature": 0.8},
        {"input": "cat dog", "temperature": 1.25},
    ]
    answers = [json.loads(keeping.post(url, json=body).content) for body in bodies]
    assert [a == fresh.post(url, json=b).json() for a, b in zip(answers, bodies, strict=True)] == [True] * 5
    assert answers[0]["output"] == answers[2]["output"]
    assert len({json.dumps(a["output"]) for a in answers}) == 4, "every other setting is its own distribution"
    assert keeping.app.state.passes.hits == 4 + 1  # the pass after the first request; the repeated distribution
