"""Checkpoints through the API: the detail lists the saved training steps; forward, generate, explain and compare
answer with the weights saved at the step asked for, recomputed here from the checkpoint file read on its own; a
step that was not saved, or a model with no trajectory, is a 422 that says which steps there are."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import torch
from safetensors import safe_open

from models.gpt import GPT, GPTConfig
from models.hooks import run_with_cache
from models.registry import WEIGHTS_DIR
from models.textnet import TextNet, TextNetConfig
from tests.app.conftest import Client


def detail(client: Client, model: str, query: str = "") -> dict[str, Any]:
    response = client.get(f"/api/models/{model}{query}")
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def post(client: Client, model: str, what: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/api/models/{model}/{what}", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def saved(model: str, epoch: int) -> dict[str, torch.Tensor]:
    """The checkpoint's weights, read straight from the file (not through the registry)."""
    record = json.loads((WEIGHTS_DIR / f"{model}.json").read_text())
    with safe_open(str(WEIGHTS_DIR / record["trajectory"]["file"]), framework="pt") as stored:
        return {key.split("/", 1)[1]: stored.get_tensor(key) for key in stored.keys() if key.startswith(f"{epoch}/")}  # noqa: SIM118


def middle(client: Client, model: str) -> int:
    epochs: list[int] = detail(client, model)["checkpoints"]
    return epochs[len(epochs) // 2]


@pytest.mark.parametrize(
    "model", ["sqrt-mlp-2x2", "sqrt-mlp-16x16", "textnet-2d-sgd", "textnet-4d-adam", "tiny-gpt", "tiny-translator"]
)
def test_the_detail_lists_the_saved_steps_from_0_to_the_last(client: Client, model: str) -> None:
    found = detail(client, model)
    epochs = found["checkpoints"]
    assert epochs[0] == 0
    assert epochs[-1] == found["training"]["epochs"]
    assert epochs == sorted(set(epochs))
    assert found["checkpoint"] is None
    assert found["no_trajectory"] is None
    listed = [c["epoch"] for c in found["training"]["trajectory"]["checkpoints"]]
    assert listed == epochs


def test_a_pretrained_model_has_no_trajectory_and_says_so(client: Client) -> None:
    found = detail(client, "minilm-l6")
    assert found["checkpoints"] == []
    assert "pretrained elsewhere" in found["no_trajectory"]
    response = client.post("/api/models/minilm-l6/forward", json={"input": "a cat", "checkpoint": 0})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "checkpoint"
    assert "no training trajectory" in response.json()["detail"]
    assert "Leave checkpoint out" in response.json()["detail"]


@pytest.mark.parametrize("what", ["forward", "generate", "explain"])
def test_a_step_that_was_not_saved_is_a_422_listing_the_saved_ones(client: Client, what: str) -> None:
    epochs = detail(client, "textnet-2d-sgd")["checkpoints"]
    missing = next(e for e in range(1, 500) if e not in epochs)
    body: dict[str, Any] = {"input": "cat", "prompt": "cat", "hook": "hook_embed", "index": [0], "checkpoint": missing}
    body = {k: v for k, v in body.items() if what == "explain" or k not in ("hook", "index")}
    body = {k: v for k, v in body.items() if k != ("input" if what == "generate" else "prompt")}
    response = client.post(f"/api/models/textnet-2d-sgd/{what}", json=body)
    assert response.status_code == 422, response.text
    message = response.json()["detail"]
    assert f"epoch {missing} of 'textnet-2d-sgd' was not saved" in message
    assert ", ".join(str(e) for e in epochs) in message
    bad = client.get(f"/api/models/textnet-2d-sgd?checkpoint={missing}")
    assert bad.status_code == 422
    assert "Send one of the saved epochs" in bad.json()["detail"]
    negative = client.post("/api/models/textnet-2d-sgd/forward", json={"input": "cat", "checkpoint": -1})
    assert negative.status_code == 422
    assert negative.json()["errors"][0]["field"] == "checkpoint"


def test_an_mlp_checkpoints_layers_are_its_saved_weights_applied_to_the_step_before(client: Client) -> None:
    epoch = middle(client, "sqrt-mlp-16x16")
    weights = saved("sqrt-mlp-16x16", epoch)
    answer = post(client, "sqrt-mlp-16x16", "forward", {"input": 4.0, "checkpoint": epoch})
    assert answer["checkpoint"] == epoch
    final = post(client, "sqrt-mlp-16x16", "forward", {"input": 4.0})
    assert final["checkpoint"] is None
    assert final["output"]["y"] != answer["output"]["y"]
    a = torch.tensor([[4.0]], dtype=torch.float64)
    layers = sorted({k.rsplit(".", 1)[0] for k in weights})
    for step in answer["steps"]:
        if step["W"] is not None:  # z = W·a + b, with the checkpoint's W and b
            layer = next(name for name in layers if name in step["parameters"]["W"])
            w, b = weights[f"{layer}.weight"].double(), weights[f"{layer}.bias"].double()
            torch.testing.assert_close(torch.tensor(step["W"], dtype=torch.float64), w, rtol=0, atol=0)
            a = a @ w.T + b
        else:  # a = ReLU(z)
            assert step["activation"] == "ReLU"
            a = torch.relu(a)
        torch.testing.assert_close(
            torch.tensor(step["data"], dtype=torch.float64).reshape(a.shape), a, rtol=0, atol=1e-5
        )
    assert answer["output"]["y"] == pytest.approx(a.item(), abs=1e-5)


def test_an_mlp_checkpoints_detail_is_that_nets_piecewise_form(client: Client) -> None:
    epoch = middle(client, "sqrt-mlp-2x2")
    at = detail(client, "sqrt-mlp-2x2", f"?checkpoint={epoch}")
    final = detail(client, "sqrt-mlp-2x2")
    assert at["checkpoint"] == epoch
    assert at["analysis"] != final["analysis"]
    for x, y in at["analysis"]["curve"]:
        answer = post(client, "sqrt-mlp-2x2", "forward", {"input": x, "checkpoint": epoch})
        assert answer["output"]["y"] == pytest.approx(y, abs=1e-5)


def test_the_text_net_at_a_checkpoint_moves_its_words_and_predicts_with_those_weights(client: Client) -> None:
    record = json.loads((WEIGHTS_DIR / "textnet-2d-sgd.json").read_text())
    epochs = detail(client, "textnet-2d-sgd")["checkpoints"]
    net = TextNet(TextNetConfig(**record["config"]))
    for epoch in (0, epochs[len(epochs) // 2]):
        net.load_state_dict(saved("textnet-2d-sgd", epoch))
        at = detail(client, "textnet-2d-sgd", f"?checkpoint={epoch}")
        torch.testing.assert_close(torch.tensor(at["embedding"]), net.embed.weight.detach(), rtol=0, atol=0)
        vocab = record["config"]["vocab"]
        with torch.no_grad():
            probs = torch.softmax(net(torch.tensor([vocab.index("cat")])), dim=-1)[0]
        answer = post(client, "textnet-2d-sgd", "forward", {"input": "cat", "checkpoint": epoch})
        assert answer["output"]["probs"] == pytest.approx(probs.tolist(), abs=1e-6)
        row = next(p for p in at["predictions"] if p["input"] == "cat")
        assert row["predicted"] == vocab[int(probs.argmax())]


def test_the_sgd_text_net_falls_into_dog_dog_as_it_trains(client: Client) -> None:
    """Greedy from 'cat' at each saved step: the last steps repeat dog → dog; the untrained net did not."""
    epochs = detail(client, "textnet-2d-sgd")["checkpoints"]
    chains = {e: post(client, "textnet-2d-sgd", "generate", {"prompt": "cat", "temperature": 0, "checkpoint": e})
              for e in (epochs[0], epochs[-2], epochs[-1])}  # fmt: skip
    assert all(answer["checkpoint"] == (None if e == epochs[-1] else e) for e, answer in chains.items())
    assert chains[epochs[-1]]["loop"] == ["dog", "dog"]
    assert chains[epochs[0]]["loop"] != ["dog", "dog"]


def test_a_gpt_checkpoints_attention_is_softmax_of_its_own_scores_and_differs_from_the_final(client: Client) -> None:
    epoch = middle(client, "tiny-gpt")
    hooks = ["blocks.0.attn.hook_scores", "blocks.0.attn.hook_pattern"]
    early = post(
        client, "tiny-gpt", "forward", {"input": "the dogs that chased the cat", "hooks": hooks, "checkpoint": 0}
    )
    at = post(
        client, "tiny-gpt", "forward", {"input": "the dogs that chased the cat", "hooks": hooks, "checkpoint": epoch}
    )
    final = post(client, "tiny-gpt", "forward", {"input": "the dogs that chased the cat", "hooks": hooks})
    for answer in (early, at, final):
        raw, shown = answer["steps"]
        scores = torch.tensor([[[-math.inf if v is None else v for v in row] for row in head] for head in raw["data"]])
        pattern = torch.tensor(shown["data"])
        assert pattern == pytest.approx(torch.softmax(scores, dim=-1), abs=2e-4)  # from rounded scores; -inf: weight 0
    assert at["steps"][1]["data"] != final["steps"][1]["data"] != early["steps"][1]["data"]


def test_an_unfolding_at_a_checkpoint_uses_that_checkpoints_weights(client: Client) -> None:
    epoch = middle(client, "sqrt-mlp-2x2")
    weights = saved("sqrt-mlp-2x2", epoch)
    body = {"input": 3.0, "checkpoint": epoch}
    first = post(client, "sqrt-mlp-2x2", "forward", body)["steps"][0]
    unfolded = post(client, "sqrt-mlp-2x2", "explain", {**body, "hook": first["name"], "index": [0]})
    assert unfolded["checkpoint"] == epoch
    layer = first["parameters"]["W"].rsplit(".", 1)[0]
    w, b = weights[f"{layer}.weight"].double(), weights[f"{layer}.bias"].double()
    assert unfolded["sum"] == pytest.approx(float(w[0, 0] * 3.0 + b[0]), abs=1e-9)


def test_compare_at_a_checkpoint_answers_with_those_weights(client: Client) -> None:
    body = {"input": "dog bites man .", "other": "man bites dog ."}
    early, final = (
        post(client, "tiny-gpt", "compare", {**body, "checkpoint": 0}),
        post(client, "tiny-gpt", "compare", body),
    )
    assert early["checkpoint"] == 0
    assert final["checkpoint"] is None
    assert early["distance"] != final["distance"]


def test_a_gpt_checkpoints_answer_is_the_module_built_from_that_files_weights(client: Client) -> None:
    """The answer against a GPT built here from the record's config and the checkpoint file, run on its own."""
    record = json.loads((WEIGHTS_DIR / "tiny-gpt.json").read_text())
    epoch = middle(client, "tiny-gpt")
    gpt = GPT(GPTConfig(**record["config"]))
    gpt.load_state_dict(saved("tiny-gpt", epoch))
    gpt.eval()
    words = ["the", "dogs", "that", "chased", "the", "cat"]
    ids = torch.tensor([[record["config"]["vocab"].index(w) for w in words]])
    hook = "blocks.1.attn.hook_pattern"
    _, cache = run_with_cache(gpt, ids)
    answer = post(client, "tiny-gpt", "forward", {"input": " ".join(words), "hooks": [hook], "checkpoint": epoch})
    assert torch.tensor(answer["steps"][0]["data"]) == pytest.approx(cache[hook][0], abs=5e-5)  # rounded to 4 places
