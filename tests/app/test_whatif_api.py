"""What if through the API: a forward or generate request with `interventions` answers the unchanged pass as before
and the changed one beside it (`what_if`): the same steps, the output, what moved and where it first moved; the
MLP's changed net with its kinks; generation with the same seed. The changed pass is kept under its own key, the
cache stays within its bound, and a change never reaches another request, also when requests run at once."""

from __future__ import annotations

import copy
import json
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import torch

from app.config import Settings
from app.main import create_app
from models.families.mlp import LoadedMLP
from models.registry import Registry
from tests.app.conftest import Client

TEXT = "the dogs that chased the cat"
PATTERN = "blocks.0.attn.hook_pattern"


def forward(client: Client, model: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/api/models/{model}/forward", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_the_answer_holds_the_unchanged_pass_as_before_and_the_changed_one_beside_it(client: Client) -> None:
    plain = forward(client, "tiny-gpt", {"input": TEXT, "hooks": [PATTERN]})
    changes = [{"op": "no_causal_mask", "layer": 0}]
    both = forward(client, "tiny-gpt", {"input": TEXT, "hooks": [PATTERN], "interventions": changes})
    assert plain["what_if"] is None
    assert {k: v for k, v in both.items() if k != "what_if"} == {k: v for k, v in plain.items() if k != "what_if"}
    what_if = both["what_if"]
    assert what_if["interventions"][0]["op"] == "no_causal_mask"
    assert [step["name"] for step in what_if["steps"]] == [PATTERN]
    before, after = torch.tensor(plain["steps"][0]["data"]), torch.tensor(what_if["steps"][0]["data"])
    upper = torch.triu(torch.ones_like(before, dtype=torch.bool), diagonal=1)
    assert float(before[upper].abs().max()) == 0
    assert float(after[upper].min()) > 0
    assert torch.allclose(after.sum(dim=-1), torch.ones(after.shape[:-1]), atol=1e-3)  # still rows of weights
    assert what_if["first_moved"] == "blocks.0.attn.hook_scores"
    moved = {m["hook"] for m in what_if["moved"]}
    assert "blocks.0.attn.hook_scores_raw" not in moved  # before the change, nothing moves
    assert "hook_logits" in moved
    assert what_if["output"]["probs"] != plain["output"]["probs"]
    assert sum(what_if["output"]["probs"]) == pytest.approx(1)


def test_no_scaling_sharpens_the_patterns_and_the_answer_says_by_how_much(client: Client) -> None:
    body = {"input": TEXT, "hooks": [PATTERN], "interventions": [{"op": "no_scaling", "layer": 0}]}
    answer = forward(client, "tiny-gpt", body)

    def entropy(rows: list[Any]) -> torch.Tensor:
        p = torch.tensor(rows, dtype=torch.float64).clamp_min(1e-12)
        return -(p * p.log()).sum(dim=-1)

    before, after = entropy(answer["steps"][0]["data"]), entropy(answer["what_if"]["steps"][0]["data"])
    assert bool((after <= before + 1e-3).all())
    assert float((before - after).max()) > 0.01


def test_a_knocked_out_cross_attention_degrades_the_translation(client: Client) -> None:
    every = [{"op": "ablate_head", "stack": "cross", "layer": i, "head": h} for i in range(2) for h in range(4)]
    body = {"prompt": "the black cat sleeps .", "temperature": 0, "seed": 0, "interventions": every}
    response = client.post("/api/models/tiny-translator/generate", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["text"] == "le chat noir dort ."
    assert answer["what_if"]["text"] != answer["text"]  # with nothing read from the source, it cannot translate it
    for step in answer["what_if"]["steps"]:  # the cross rows of the changed pass: still the (unused) patterns
        assert sum(step["cross"]) == pytest.approx(1, abs=1e-3)


def test_a_words_point_moved_in_the_plane_changes_its_chain(client: Client) -> None:
    plain = client.post("/api/models/textnet-2d-sgd/generate", json={"prompt": "hello", "temperature": 0}).json()
    detail = client.get("/api/models/textnet-2d-sgd").json()
    word = detail["vocab"].index("hello")
    cute = detail["embedding"][detail["vocab"].index("cute")]  # hello moved onto cute's point
    changes = [{"op": "set_param", "name": "E", "index": [word, j], "value": cute[j]} for j in range(2)]
    body = {"prompt": "hello", "temperature": 0, "interventions": changes}
    changed = client.post("/api/models/textnet-2d-sgd/generate", json=body).json()
    as_cute = client.post("/api/models/textnet-2d-sgd/generate", json={"prompt": "cute", "temperature": 0}).json()
    assert changed["text"] == plain["text"]
    assert changed["what_if"]["steps"][0]["token"] == as_cute["steps"][0]["token"]
    forward_body = {"input": "hello", "hooks": ["hook_logits"], "interventions": changes}
    moved = forward(client, "textnet-2d-sgd", forward_body)["what_if"]["steps"][0]["data"]
    assert moved == pytest.approx(forward(client, "textnet-2d-sgd", {"input": "cute", "hooks": ["hook_logits"]})[
        "steps"][0]["data"], abs=1e-6)  # fmt: skip


def test_a_set_weight_moves_the_mlps_kinks_and_its_curve_is_the_changed_nets() -> None:
    client = Client(create_app(Settings()))
    body = {"input": 4.0, "interventions": [{"op": "set_param", "name": "layers.0.W", "index": [0, 0], "value": 0.5}]}
    answer = forward(client, "sqrt-mlp-2x2", body)
    model = Registry().load("sqrt-mlp-2x2")
    assert isinstance(model, LoadedMLP)
    other = copy.deepcopy(model.module)  # the reference: a net that has that weight
    with torch.no_grad():
        other.affine_layers()[0].linear.weight[0, 0] = 0.5
        assert answer["what_if"]["output"]["y"] == pytest.approx(float(other(torch.tensor([[4.0]]))[0, 0]), abs=1e-6)
        analysis = answer["what_if"]["analysis"]
        for x, y in analysis["curve"]:
            assert y == pytest.approx(float(other(torch.tensor([[x]]))[0, 0]), abs=1e-5)
    detail = client.get("/api/models/sqrt-mlp-2x2").json()["analysis"]
    assert [p["x"] for p in analysis["breakpoints"]] != [p["x"] for p in detail["breakpoints"]]
    region = answer["what_if"]["output"]["region"]
    assert region["slope"] * 4.0 + region["intercept"] == pytest.approx(answer["what_if"]["output"]["y"], abs=1e-5)


def test_a_patch_from_another_x_gives_that_xs_output(client: Client) -> None:
    body = {"input": 4.0, "interventions": [{"op": "patch", "hook": "layers.0.hook_a", "source": 9.0}]}
    answer = forward(client, "sqrt-mlp-2x2", body)
    assert answer["what_if"]["output"]["y"] == forward(client, "sqrt-mlp-2x2", {"input": 9.0})["output"]["y"]
    assert answer["what_if"]["analysis"] is None  # a patch is not a net with other weights


def test_an_encoder_head_knocked_out_moves_the_sentence_embedding(client: Client) -> None:
    body = {"input": "A man is eating food.", "interventions": [{"op": "ablate_head", "layer": 0, "head": 2}]}
    answer = forward(client, "minilm-l6", body)
    before, after = answer["output"]["embedding"], answer["what_if"]["output"]["embedding"]
    cosine = sum(a * b for a, b in zip(before, after, strict=True)) / math.hypot(*before) / math.hypot(*after)
    assert 0.5 < cosine < 0.99999
    assert answer["what_if"]["first_moved"] == "blocks.0.attn.hook_z"


def test_the_changed_pass_is_kept_under_its_own_key_within_the_caches_bound() -> None:
    app = create_app(Settings(cache_bytes=2**20))
    client, passes = Client(app), app.state.passes
    body = {"input": TEXT, "interventions": [{"op": "ablate_head", "layer": 1, "head": 0}]}
    first = client.post("/api/models/tiny-gpt/forward", json=body).content
    misses = passes.misses
    assert client.post("/api/models/tiny-gpt/forward", json=body).content == first
    assert passes.misses == misses  # kept: neither pass ran again
    other = {**body, "interventions": [{"op": "ablate_head", "layer": 1, "head": 1}]}
    assert json.loads(client.post("/api/models/tiny-gpt/forward", json=other).content)["what_if"] != json.loads(
        first)["what_if"]  # fmt: skip
    for i in range(30):  # many changed passes: the cache holds what fits
        change = {"op": "set_score", "layer": 0, "head": i % 4, "query": 5, "key": i % 6, "value": float(i)}
        client.post("/api/models/tiny-gpt/forward", json={"input": TEXT, "interventions": [change]})
        assert passes.nbytes <= 2**20


def test_requests_at_once_never_see_each_others_changes(client: Client) -> None:
    plain = client.post("/api/models/tiny-gpt/forward", json={"input": TEXT, "hooks": "all"}).json()
    changes = [{"op": "no_positions"}, {"op": "ablate_head", "layer": 0, "head": 3}]

    def send(i: int) -> dict[str, Any]:
        text = " ".join(TEXT.split()[: 3 + i % 4])  # new passes, not only kept ones
        body: dict[str, Any] = {"input": text, "hooks": "all"}
        if i % 2:
            body["interventions"] = changes
        answer: dict[str, Any] = client.post("/api/models/tiny-gpt/forward", json=body).json()
        return answer

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(send, range(48)))
    for i, answer in enumerate(answers):
        again = client.post("/api/models/tiny-gpt/forward", json={"input": answer["input"], "hooks": "all"}).json()
        assert answer["steps"] == again["steps"]  # the unchanged pass, changed or not beside it
        assert (answer["what_if"] is not None) == bool(i % 2)
    assert client.post("/api/models/tiny-gpt/forward", json={"input": TEXT, "hooks": "all"}).json() == plain
