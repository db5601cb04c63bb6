"""The text-net API: the walk and the distribution recomputed by hand, and generation. Bad input: error_cases.py."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest

from models.data.textpairs import VOCAB
from tests import shipped
from tests.app.conftest import Client

TEXTNETS = ["textnet-2d-sgd", "textnet-4d-adam"]


def _post(client: Client, model_id: str, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/api/models/{model_id}/{endpoint}", json=body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _matvec(W: list[list[float]], a: list[float], b: list[float]) -> list[float]:
    return [sum(w * v for w, v in zip(row, a, strict=True)) + bias for row, bias in zip(W, b, strict=True)]


@pytest.mark.parametrize("model_id", TEXTNETS)
def test_the_detail_carries_the_vocabulary_the_whole_table_and_the_record(client: Client, model_id: str) -> None:
    detail = client.get(f"/api/models/{model_id}").json()
    assert detail["vocab"] == VOCAB
    assert detail["embedding"] == shipped.textnet(model_id).module.embed.weight.tolist()
    training = detail["training"]
    assert [p["input"] for p in training["predictions"]] == ["hello", "cat", "dog", "silly", "cute", "world"]
    assert training["seed_search"]["why"]
    assert "analysis" not in detail  # an MLP's field: each family's detail holds its own


@pytest.mark.parametrize("model_id", TEXTNETS)
@pytest.mark.parametrize("word", VOCAB)
def test_each_step_of_the_walk_recomputes_from_the_one_before(client: Client, model_id: str, word: str) -> None:
    table = client.get(f"/api/models/{model_id}").json()["embedding"]
    result = _post(client, model_id, "forward", {"input": word})
    steps = {s["name"]: s for s in result["steps"]}
    assert list(steps) == ["hook_embed", "layers.0.hook_z", "layers.0.hook_a", "layers.1.hook_z", "layers.1.hook_a",
                           "hook_logits"]  # fmt: skip
    a = steps["hook_embed"]["data"]
    assert a == table[VOCAB.index(word)]  # the embedding is the word's row of the table
    for i in range(2):
        z = steps[f"layers.{i}.hook_z"]
        assert z["data"] == pytest.approx(_matvec(z["W"], a, z["b"]), rel=1e-5, abs=1e-5)
        a = steps[f"layers.{i}.hook_a"]["data"]
        assert a == [max(0.0, v) for v in z["data"]]
    logits = steps["hook_logits"]
    assert logits["data"] == pytest.approx(_matvec(logits["W"], a, logits["b"]), rel=1e-5, abs=1e-5)
    assert result["output"]["logits"] == logits["data"]
    assert logits["W"] == shipped.textnet(model_id).module.unembed.weight.tolist()


SETTINGS = [
    {"temperature": 1.0},
    {"temperature": 0.3},
    {"temperature": 4.0, "top_k": 3},
    {"temperature": 2.0, "top_p": 0.6},
    {"temperature": 1.5, "top_k": 5, "top_p": 0.9},
]


@pytest.mark.parametrize("model_id", TEXTNETS)
@pytest.mark.parametrize("settings", SETTINGS)
def test_probs_are_the_filtered_softmax_of_logits_over_t(
    client: Client, model_id: str, settings: dict[str, Any]
) -> None:
    out = _post(client, model_id, "forward", {"input": "cat", **settings})["output"]
    t, k, p = settings["temperature"], settings.get("top_k"), settings.get("top_p")
    logits = out["logits"]
    assert out["scaled"] == pytest.approx([v / t for v in logits])
    by_k = sorted(range(7), key=lambda i: -logits[i])[: k or 7]
    e = {i: math.exp(logits[i] / t - max(logits) / t) for i in by_k}
    probs = {i: v / sum(e.values()) for i, v in e.items()}
    ranked = sorted(probs, key=lambda i: -probs[i])
    kept = (
        ranked
        if p is None
        else ranked[: next(n + 1 for n in range(len(ranked)) if sum(probs[i] for i in ranked[: n + 1]) >= p)]
    )
    total = sum(probs[i] for i in kept)
    expected = [probs[i] / total if i in kept else 0.0 for i in range(7)]
    assert set(out["kept"]) == set(kept)  # the same set; float32 underflow can tie the order of the tiniest
    assert [out["probs"][i] for i in out["kept"]] == sorted((out["probs"][i] for i in out["kept"]), reverse=True)
    assert out["probs"] == pytest.approx(expected, abs=1e-6)
    assert sum(out["probs"]) == pytest.approx(1.0)
    assert out["prediction"] == VOCAB[max(range(7), key=lambda i: logits[i])]
    assert out["entropy"] == pytest.approx(-sum(q * math.log2(q) for q in out["probs"] if q > 0), abs=1e-6)


def test_temperature_0_is_the_argmax_one_hot(client: Client) -> None:
    out = _post(client, "textnet-4d-adam", "forward", {"input": "hello", "temperature": 0})["output"]
    assert out["probs"] == [1.0 if w == "world" else 0.0 for w in VOCAB]
    assert (out["scaled"], out["entropy"], out["prediction"]) == (None, 0.0, "world")


def test_higher_temperature_gives_higher_entropy(client: Client) -> None:
    entropies = [_post(client, "textnet-2d-sgd", "forward", {"input": "cute", "temperature": t})["output"]["entropy"]
                 for t in (0.2, 0.5, 1, 2, 5)]  # fmt: skip
    assert all(a < b for a, b in itertools.pairwise(entropies))


def test_a_longer_text_is_read_at_its_last_word(client: Client) -> None:
    result = _post(client, "textnet-4d-adam", "forward", {"input": "Cute cat"})
    assert result["tokens"] == ["cute", "cat"]
    assert result["steps"][0]["title"] == "Embedding vector for 'cat'"
    assert result["output"]["prediction"] == "dog"


def test_greedy_generation_from_dog_is_stuck_on_the_sgd_net_and_ends_on_the_adam_net(client: Client) -> None:
    stuck = _post(client, "textnet-2d-sgd", "generate", {"prompt": "dog", "temperature": 0})
    assert (stuck["text"], stuck["stop_reason"], stuck["loop"]) == ("dog dog dog", "loop", ["dog", "dog"])
    done = _post(client, "textnet-4d-adam", "generate", {"prompt": "cute", "temperature": 0})
    assert (done["text"], done["stop_reason"], done["loop"]) == ("cute cat dog !", "eos", None)


def test_each_generated_step_has_the_probability_a_forward_call_gives_it(client: Client) -> None:
    settings = {"temperature": 1.3, "top_k": 5}
    result = _post(client, "textnet-2d-sgd", "generate", {"prompt": "hello", "seed": 11, **settings})
    words = [*result["prompt_tokens"], *(s["token"] for s in result["steps"])]
    for previous, step in zip(words, result["steps"], strict=False):  # the net reads one word: the previous one
        probs = _post(client, "textnet-2d-sgd", "forward", {"input": previous, **settings})["output"]["probs"]
        assert step["prob"] == pytest.approx(probs[step["id"]])
        assert step["top"] == [
            [VOCAB[i], pytest.approx(p)] for i, p in sorted(enumerate(probs), key=lambda ip: -ip[1])[:5] if p > 0
        ]


def test_the_repetition_penalty_rescales_the_logits_of_words_in_the_text(client: Client) -> None:
    plain = _post(client, "textnet-4d-adam", "forward", {"input": "world cat"})["output"]["logits"]
    penalised = _post(client, "textnet-4d-adam", "forward", {"input": "world cat", "repetition_penalty": 3})["output"]
    seen = {VOCAB.index("world"), VOCAB.index("cat")}
    expected = [(v / 3 if v > 0 else v * 3) if i in seen else v for i, v in enumerate(plain)]
    assert penalised["logits"] == pytest.approx(expected)


def test_a_tiny_top_p_keeps_only_the_most_likely_word(client: Client) -> None:
    out = _post(client, "textnet-2d-sgd", "forward", {"input": "cute", "top_p": 1e-300})["output"]
    assert out["kept"] == [out["prediction_id"]]
    assert out["probs"][out["prediction_id"]] == 1.0


def test_seeded_sampling_is_reproducible_and_a_null_seed_is_returned_to_reuse(client: Client) -> None:
    body = {"prompt": "hello", "temperature": 2.0, "max_new_tokens": 20}
    runs = [_post(client, "textnet-2d-sgd", "generate", {**body, "seed": s})["text"] for s in (5, 5, 6, 7, 8)]
    assert runs[0] == runs[1]
    assert len(set(runs)) > 1
    free = _post(client, "textnet-2d-sgd", "generate", body)
    assert _post(client, "textnet-2d-sgd", "generate", {**body, "seed": free["seed"]})["text"] == free["text"]


def test_a_sample_with_temperature_can_escape_the_dog_loop(client: Client) -> None:
    body = {"prompt": "dog", "temperature": 1.5, "max_new_tokens": 20}
    endings = {_post(client, "textnet-2d-sgd", "generate", {**body, "seed": s})["stop_reason"] for s in range(20)}
    assert "eos" in endings


def test_an_integer_setting_may_be_written_with_a_decimal_point_as_json_schema_allows(client: Client) -> None:
    body = {"prompt": "hello", "temperature": 1.5, "top_k": 3, "max_new_tokens": 5, "seed": 7}
    as_floats = {**body, "top_k": 3.0, "max_new_tokens": 5.0, "seed": 7.0}
    assert _post(client, "textnet-2d-sgd", "generate", as_floats) == _post(client, "textnet-2d-sgd", "generate", body)
    fraction = client.post("/api/models/textnet-2d-sgd/generate", json={**body, "max_new_tokens": 5.5})
    assert fraction.status_code == 422
    assert fraction.json()["errors"][0]["field"] == "max_new_tokens"
