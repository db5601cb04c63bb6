"""The translator's API: the three attentions as JSON, the next French word, translation. Bad input: error_cases.py."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.app.conftest import Client

URL = "/api/models/tiny-translator"


def _forward(client: Client, english: str, french: str | None = None, **settings: Any) -> dict[str, Any]:
    response = client.post(f"{URL}/forward", json={"input": english, "target": french, "hooks": "all", **settings})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _steps(result: dict[str, Any]) -> dict[str, Any]:
    return {s["name"]: s for s in result["steps"]}


def test_forward_returns_both_sides_and_the_three_attentions(client: Client) -> None:
    result = _forward(client, "the black cat sees a white house .", "le chat")
    assert result["tokens"] == ["the", "black", "cat", "sees", "a", "white", "house", "."]
    assert result["target_tokens"] == ["<s>", "le", "chat"]
    steps = _steps(result)
    assert steps["encoder.blocks.0.attn.hook_pattern"]["shape"] == [4, 8, 8]
    assert steps["decoder.blocks.0.attn.hook_pattern"]["shape"] == [4, 3, 3]
    assert steps["decoder.blocks.1.cross_attn.hook_pattern"]["shape"] == [4, 3, 8]  # [heads][target_pos][source_pos]
    assert "all ↔ all" in steps["encoder.blocks.0.attn.hook_pattern"]["title"]
    assert "only earlier" in steps["decoder.blocks.0.attn.hook_pattern"]["title"]
    assert "target → source" in steps["decoder.blocks.0.cross_attn.hook_pattern"]["title"]
    assert result["output"]["prediction"] == "noir"  # the adjective comes after the noun


def test_only_the_decoders_self_attention_is_masked(client: Client) -> None:
    steps = _steps(_forward(client, "the small dogs fall .", "les petits chiens"))
    for layer in range(2):
        encoder = steps[f"encoder.blocks.{layer}.attn.hook_scores"]["data"]
        assert all(v is not None for head in encoder for row in head for v in row)
        cross = steps[f"decoder.blocks.{layer}.cross_attn.hook_pattern"]["data"]
        for head in cross:
            for row in head:
                assert sum(row) == pytest.approx(1.0, abs=len(row) * 1e-4)
        cross_scores = steps[f"decoder.blocks.{layer}.cross_attn.hook_scores"]["data"]
        assert all(v is not None for head in cross_scores for row in head for v in row)
        assert sum(row[j] for head in cross for i, row in enumerate(head) for j in range(i + 1, len(row))) > 0.1
        decoder = steps[f"decoder.blocks.{layer}.attn.hook_scores"]["data"]
        for head in decoder:
            for i, row in enumerate(head):
                assert all(v is None for v in row[i + 1 :])


def test_probs_are_the_softmax_of_the_last_logits(client: Client) -> None:
    result = _forward(client, "a dog sleeps .", "un", temperature=0.7)
    logits = result["output"]["logits"]
    assert logits == pytest.approx(_steps(result)["decoder.hook_logits"]["data"][-1], abs=1e-4)
    e = [0.0 if i == 0 else math.exp((v - max(logits)) / 0.7) for i, v in enumerate(logits)]  # <s> never comes next
    assert result["output"]["probs"] == pytest.approx([v / sum(e) for v in e], abs=1e-9)
    assert 0 not in result["output"]["kept"]


def test_a_wrong_translation_as_prefix_is_still_served(client: Client) -> None:
    result = _forward(client, "the cat sleeps .", "la voiture")
    assert result["target_tokens"] == ["<s>", "la", "voiture"]


@pytest.mark.parametrize(
    ("english", "french"),
    [
        ("the black cat sleeps .", "le chat noir dort ."),
        ("a small car sees the green flowers .", "une petite voiture voit les fleurs vertes ."),
        ("the white houses fall .", "les maisons blanches tombent ."),
    ],
)
def test_greedy_translation_with_agreement_and_word_order(client: Client, english: str, french: str) -> None:
    result = client.post(f"{URL}/generate", json={"prompt": english, "temperature": 0}).json()
    assert result["text"] == french
    assert result["stop_reason"] == "eos"


def test_each_translated_word_carries_its_cross_attention_row_and_the_alignment_crosses(client: Client) -> None:
    result = client.post(f"{URL}/generate", json={"prompt": "the black cat sleeps .", "temperature": 0}).json()
    source = result["prompt_tokens"]
    for step in result["steps"]:
        assert len(step["cross"]) == len(source)
        assert sum(step["cross"]) == pytest.approx(1.0, abs=1e-3)
    noir = next(s for s in result["steps"] if s["token"] == "noir")
    assert source[max(range(len(source)), key=lambda i: noir["cross"][i])] == "black"


@pytest.mark.parametrize("max_new_tokens", [2, 15])  # stopped by the bound, and by </s>
def test_the_cross_rows_are_those_of_a_forward_pass_on_the_translation(client: Client, max_new_tokens: int) -> None:
    body = {"prompt": "the red car falls .", "temperature": 0, "max_new_tokens": max_new_tokens}
    result = client.post(f"{URL}/generate", json=body).json()
    words = [s["token"] for s in result["steps"]]
    prefix = " ".join(words[:-1])  # step j was made at decoder position j: <s> and the words before it
    steps = _steps(_forward(client, "the red car falls .", prefix))
    pattern = steps["decoder.blocks.1.cross_attn.hook_pattern"]["data"]  # [heads][target_pos][source_pos]
    assert len(pattern[0]) == len(result["steps"])
    for j, step in enumerate(result["steps"]):
        mean = [sum(pattern[h][j][i] for h in range(4)) / 4 for i in range(len(step["cross"]))]
        assert step["cross"] == pytest.approx(mean, abs=2e-4)


def test_seeded_sampled_translation_is_reproducible(client: Client) -> None:
    body = {"prompt": "the cats see a book .", "temperature": 3.0, "seed": 4}
    assert client.post(f"{URL}/generate", json=body).json() == client.post(f"{URL}/generate", json=body).json()


def test_the_alignment_is_each_layers_cross_attention_averaged_over_its_heads(client: Client) -> None:
    result = _forward(client, "the black cat sees a white house .", "le chat noir")
    steps = _steps(result)
    n_layers = client.get(URL).json()["config"]["n_layers"]
    alignment = result["alignment"]  # [layer][target_pos][source_pos]
    assert [len(alignment), len(alignment[0]), len(alignment[0][0])] == [n_layers, 4, 8]
    for layer in range(n_layers):
        pattern = steps[f"decoder.blocks.{layer}.cross_attn.hook_pattern"]["data"]  # [heads][target_pos][source_pos]
        for i, row in enumerate(alignment[layer]):
            mean = [sum(head[i][j] for head in pattern) / len(pattern) for j in range(len(row))]
            assert row == pytest.approx(mean, abs=1e-3), (layer, i)
            assert sum(row) == pytest.approx(1.0, abs=1e-3)


def test_the_attention_hooks_in_the_detail_are_hooks_of_the_model_in_every_layer(client: Client) -> None:
    detail = client.get(URL).json()
    assert set(detail["attentions"]) == {"encoder", "decoder", "cross"}
    for hook in detail["attentions"].values():
        assert "{layer}" in hook
        for layer in range(detail["config"]["n_layers"]):
            assert hook.format(layer=layer) in detail["hook_names"], (hook, layer)
