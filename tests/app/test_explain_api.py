"""POST /api/models/{id}/explain: one value of the forward pass, unfolded, for every family; the total is the number
/forward shows, to its displayed precision; it reads the pass /forward kept; bad hooks and indices are 422s."""

from __future__ import annotations

import math
from typing import Any

import pytest
from fastapi import FastAPI

from tests.app.conftest import Client

DISPLAYED = 0.5e-4 + 1e-6  # transformer steps go out rounded to 4 places; the MLP's and text net's unrounded

# (model, the forward body, a hook, an index into its value)
CASES = [
    ("sqrt-mlp-2x2", {"input": 4.0}, "layers.0.hook_z", [1]),
    ("sqrt-mlp-16x16", {"input": 7.5}, "layers.2.hook_z", [0]),
    ("textnet-2d-sgd", {"input": "hello dog"}, "layers.1.hook_a", [0]),
    ("textnet-4d-adam", {"input": "cat"}, "hook_logits", [3]),
    ("tiny-gpt", {"input": "the dog chased the cat ."}, "blocks.1.attn.hook_pattern", [2, 4, 1]),
    ("tiny-gpt", {"input": "the dog chased the cat ."}, "blocks.0.hook_mlp_out", [3, 17]),
    ("tiny-translator", {"input": "the cat sleeps .", "target": "le chat"}, "decoder.blocks.1.cross_attn.hook_z", [1, 2,
     5]),
    ("tiny-translator", {"input": "the cat sleeps ."}, "encoder.blocks.0.ln1.hook_std", [2, 0]),
]  # fmt: skip


def step(forward: dict[str, Any], hook: str, index: list[int]) -> Any:
    value = next(s for s in forward["steps"] if s["name"] == hook)["data"]
    for i in index:
        value = value[i]
    return value


@pytest.mark.parametrize(("model", "body", "hook", "index"), CASES)
def test_the_unfolded_total_is_the_value_forward_shows(
    client: Client, model: str, body: dict[str, Any], hook: str, index: list[int]
) -> None:
    shown = step(client.post(f"/api/models/{model}/forward", json={**body, "hooks": [hook]}).json(), hook, index)
    response = client.post(f"/api/models/{model}/explain", json={**body, "hook": hook, "index": index})
    assert response.status_code == 200, response.text
    found = response.json()
    assert (found["model"], found["hook"], found["index"]) == (model, hook, index)
    assert found["total"] == pytest.approx(shown, abs=DISPLAYED)
    assert math.fsum(t["value"] for t in found["terms"]) == pytest.approx(found["sum"], abs=1e-9)
    assert found["formula"]


@pytest.mark.parametrize(("model", "body"), [("sqrt-mlp-16x16", {"input": 2.0}), ("textnet-2d-sgd", {"input": "dog"})])
def test_the_parameters_a_step_names_unfold_to_the_numbers_it_shows(client: Client, model: str, body: Any) -> None:
    forward = client.post(f"/api/models/{model}/forward", json=body).json()
    named = [s for s in forward["steps"] if s["parameters"]]
    assert named, "some step names its parameters"
    for s in named:
        for kind, name in s["parameters"].items():
            shown = {"W": s["W"], "b": s["b"]}.get(kind)
            if shown is None:  # E: the detail's table
                shown = client.get(f"/api/models/{model}").json()["embedding"]
            index = [len(shown) - 1, 0] if isinstance(shown[0], list) else [len(shown) - 1]
            found = client.post(f"/api/models/{model}/explain", json={**body, "hook": name, "index": index}).json()
            assert found["total"] == step({"steps": [{"name": name, "data": shown}]}, name, index)
            assert found["params"] == [name]


def test_a_probability_unfolds_with_the_requests_sampling_settings(client: Client) -> None:
    body = {"input": "the dog chased the", "temperature": 0.7, "top_k": 4, "top_p": 0.8}
    output = client.post("/api/models/tiny-gpt/forward", json=body).json()["output"]
    for token in [*output["kept"], max(range(len(output["probs"])), key=lambda t: output["probs"][t] == 0)]:
        found = client.post("/api/models/tiny-gpt/explain", json={**body, "hook": "output.probs", "index": [token]})
        assert found.json()["total"] == pytest.approx(output["probs"][token], abs=1e-9)
        assert found.json()["n_terms"] == len([p for p in output["probs"] if p > 0])


def test_a_masked_score_is_null_and_says_why(client: Client) -> None:
    body = {"input": "the dog chased the cat", "hook": "blocks.0.attn.hook_scores", "index": [0, 1, 3]}
    found = client.post("/api/models/tiny-gpt/explain", json=body).json()
    assert found["value"] is None
    assert found["total"] is None
    assert "key 3 comes after query 1" in found["note"]


def test_explaining_reads_the_pass_forward_kept(client: Client, app: FastAPI) -> None:
    body = {"input": "the queen met the king and the cat"}
    client.post("/api/models/tiny-gpt/forward", json=body)
    passes = app.state.passes
    misses = passes.misses
    for index in ([0, 0], [5, 31], [7, 2]):
        response = client.post("/api/models/tiny-gpt/explain", json={**body, "hook": "hook_logits", "index": index})
        assert response.status_code == 200
    assert passes.misses == misses  # no pass was made again


@pytest.mark.parametrize(
    ("model", "body", "field", "words"),
    [
        ("tiny-gpt", {"input": "the dog", "hook": "blocks.0.attn.hook_qq", "index": [0, 0, 0]}, "hook",
         ["Nearest: blocks.0.attn.hook_q", "hook_names of GET /api/models/tiny-gpt", "output.probs"]),
        ("tiny-gpt", {"input": "the dog", "hook": "blocks.0.attn.hook_q", "index": [0, 2, 0]}, "index",
         ["whose shape is [4, 2, 8]", "Send 3 numbers, each from 0 up to [3, 1, 7]"]),
        ("tiny-gpt", {"input": "the dog", "hook": "hook_embed", "index": [0]}, "index", ["shape is [2, 32]"]),
        ("sqrt-mlp-2x2", {"input": 1.0, "hook": "output.probs", "index": [0]}, "hook",
         ["has no unfolding: an MLP outputs a number"]),
        ("sqrt-mlp-2x2", {"input": 1.0, "hook": "layers.0.hook_z", "index": [0], "temperature": 1}, "temperature",
         ["does not apply to an mlp model"]),
    ],
)  # fmt: skip
def test_bad_requests_are_422s_that_name_the_problem_and_the_fix(
    client: Client, model: str, body: dict[str, Any], field: str, words: list[str]
) -> None:
    response = client.post(f"/api/models/{model}/explain", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
    for word in words:
        assert word in response.json()["detail"]
