"""The GPT API: every stage as JSON, recomputed from the stage before at the 4-decimal precision it is sent with."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from models.families.gpt import LoadedGPT
from models.registry import Registry
from tests.app.conftest import Client

URL = "/api/models/tiny-gpt"
V = len(Registry().load("tiny-gpt").record["config"]["vocab"])
EXACT = 1e-4  # values are rounded to 4 decimals; recomputations from rounded inputs get a little more slack


def _forward(client: Client, text: str, **settings: Any) -> dict[str, Any]:
    response = client.post(f"{URL}/forward", json={"input": text, "hooks": "all", **settings})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _steps(result: dict[str, Any]) -> dict[str, Any]:
    return {s["name"]: s for s in result["steps"]}


def test_the_forward_pass_lists_every_stage_with_its_shape(client: Client) -> None:
    result = _forward(client, "the dogs that chased the cat")
    steps = _steps(result)
    assert result["tokens"] == ["the", "dogs", "that", "chased", "the", "cat"]
    assert steps["hook_embed"]["shape"] == [6, 32]
    assert steps["hook_pos_embed"]["shape"] == [6, 32]
    assert steps["blocks.1.attn.hook_q"]["shape"] == [4, 6, 8]  # [n_heads, pos, d_head]
    assert steps["blocks.1.attn.hook_pattern"]["shape"] == [4, 6, 6]  # [n_heads, query_pos, key_pos]
    assert steps["blocks.0.mlp.hook_pre"]["shape"] == [6, 128]  # expanded 4×
    assert steps["hook_logits"]["shape"] == [6, V]  # every position


def test_pattern_rows_sum_to_1_and_nothing_above_the_diagonal(client: Client) -> None:
    steps = _steps(_forward(client, "the king met the queen and he smiled ."))
    for layer in range(2):
        for head in steps[f"blocks.{layer}.attn.hook_pattern"]["data"]:
            for q, row in enumerate(head):
                assert sum(row) == pytest.approx(1.0, abs=len(row) * EXACT)
                assert all(v == 0 for v in row[q + 1 :])
        for head in steps[f"blocks.{layer}.attn.hook_scores"]["data"]:
            for q, row in enumerate(head):
                assert all(v is None for v in row[q + 1 :])  # masked: sent as null
                assert all(v is not None for v in row[: q + 1])


def test_scores_are_q_dot_k_over_root_d_head_recomputed_from_q_and_k(client: Client) -> None:
    steps = _steps(_forward(client, "the boy took the money , reached the bank"))
    for layer in range(2):
        a = f"blocks.{layer}.attn."
        q, k = steps[a + "hook_q"]["data"], steps[a + "hook_k"]["data"]
        raw, scaled = steps[a + "hook_scores_raw"]["data"], steps[a + "hook_scores"]["data"]
        for h in range(4):
            for i in range(len(q[h])):
                for j in range(i + 1):
                    dot = sum(x * y for x, y in zip(q[h][i], k[h][j], strict=True))
                    assert raw[h][i][j] == pytest.approx(dot, abs=5e-3)
                    assert scaled[h][i][j] == pytest.approx(raw[h][i][j] / math.sqrt(8), abs=2 * EXACT)


def test_the_pattern_is_the_softmax_of_each_scaled_row_and_z_is_pattern_times_v(client: Client) -> None:
    steps = _steps(_forward(client, "the dog chased the cat . who chased ? the"))
    a = "blocks.1.attn."
    for h in range(4):
        for i, row in enumerate(steps[a + "hook_scores"]["data"][h]):
            seen = row[: i + 1]
            e = [math.exp(s - max(seen)) for s in seen]
            assert steps[a + "hook_pattern"]["data"][h][i][: i + 1] == pytest.approx([v / sum(e) for v in e], abs=5e-4)
            v = steps[a + "hook_v"]["data"][h]
            pattern = steps[a + "hook_pattern"]["data"][h][i]
            z = [sum(pattern[j] * v[j][d] for j in range(len(v))) for d in range(8)]
            assert steps[a + "hook_z"]["data"][h][i] == pytest.approx(z, abs=5e-3)


def test_the_residual_stream_adds_up(client: Client) -> None:
    steps = _steps(_forward(client, "the queen met the king and"))

    def flat(name: str) -> list[float]:
        return [v for row in steps[name]["data"] for v in row]

    def add(a: str, b: str) -> list[float]:
        return [x + y for x, y in zip(flat(a), flat(b), strict=True)]

    assert flat("blocks.0.hook_resid_pre") == pytest.approx(add("hook_embed", "hook_pos_embed"), abs=2 * EXACT)
    for i in range(2):
        b = f"blocks.{i}."
        mid = add(b + "hook_resid_pre", b + "hook_attn_out")
        assert flat(b + "hook_resid_mid") == pytest.approx(mid, abs=2 * EXACT)
        post = add(b + "hook_resid_mid", b + "hook_mlp_out")
        assert flat(b + "hook_resid_post") == pytest.approx(post, abs=2 * EXACT)


@pytest.mark.parametrize(
    "settings", [{"temperature": 1.0}, {"temperature": 0.5, "top_k": 5}, {"temperature": 2.0, "top_p": 0.8}]
)
def test_probs_are_the_filtered_softmax_of_the_last_logits(client: Client, settings: dict[str, Any]) -> None:
    result = _forward(client, "the dog chased the", **settings)
    out = result["output"]
    raw = _steps(result)["hook_logits"]["data"][-1]
    penalty, seen = settings.get("repetition_penalty", 1.0), set(result["ids"])
    penalised = [(v / penalty if v > 0 else v * penalty) if i in seen else v for i, v in enumerate(raw)]
    assert out["logits"] == pytest.approx(penalised, abs=penalty * EXACT)
    t, k, p = settings["temperature"], settings.get("top_k"), settings.get("top_p")
    ranked = sorted(range(V), key=lambda i: -out["logits"][i])[: k or V]
    e = {i: math.exp((out["logits"][i] - out["logits"][ranked[0]]) / t) for i in ranked}
    probs = {i: v / sum(e.values()) for i, v in e.items()}
    kept, mass = [], 0.0
    for i in ranked:
        if p is not None and mass >= p:
            break
        kept.append(i)
        mass += probs[i]
    expected = [probs[i] / sum(probs[j] for j in kept) if i in kept else 0.0 for i in range(V)]
    assert out["probs"] == pytest.approx(expected, abs=1e-6)
    assert set(out["kept"]) == set(kept)


def test_every_logit_lens_row_is_its_residual_stream_through_the_final_norm_and_unembedding(client: Client) -> None:
    text = "the dogs that chased the cat"
    lens = _forward(client, text)["lens"]
    model = Registry().load("tiny-gpt")
    assert isinstance(model, LoadedGPT)
    _, cache = model.run_with_cache(model.tokenizer.encode(text))
    for layer in lens:
        with torch.no_grad():
            probs = torch.softmax(model.module.unembed(model.module.ln_final.ln(cache[layer["hook"]])), dim=-1)
        for pos, top in enumerate(layer["top"]):
            best = torch.topk(probs[pos], 3)
            assert [w for w, _ in top] == [model.tokenizer.vocab[int(i)] for i in best.indices]
            assert [p for _, p in top] == pytest.approx(best.values.tolist(), abs=EXACT)


def test_the_logit_lens_ends_on_the_models_own_prediction(client: Client) -> None:
    result = _forward(client, "the dogs that chased the cat")
    lens = result["lens"]
    assert [layer["layer"] for layer in lens] == ["embeddings", "block 0", "block 1"]
    assert all(len(layer["top"]) == 6 for layer in lens)
    logits = _steps(result)["hook_logits"]["data"]
    for pos, top in enumerate(lens[-1]["top"]):  # the last layer's lens is the model's own output
        row = logits[pos]
        e = [math.exp(v - max(row)) for v in row]
        assert top[0][1] == pytest.approx(max(e) / sum(e), abs=1e-3)
    assert [layer["hook"] for layer in lens] == [
        "blocks.0.hook_resid_pre",
        "blocks.0.hook_resid_post",
        "blocks.1.hook_resid_post",
    ]
    assert lens[-1]["top"][-1][0][0] == result["output"]["prediction"] == "are"


def test_a_16_token_input_stays_under_300_kb(client: Client) -> None:
    text = "the dog chased the cat . who was chased ? the cat . the dog ."
    response = client.post(f"{URL}/forward", json={"input": text})
    assert len(response.json()["tokens"]) == 16
    assert len(response.content) < 300_000


def test_later_words_do_not_change_earlier_positions_in_the_json(client: Client) -> None:
    a = _steps(_forward(client, "dog bites man ."))
    b = _steps(_forward(client, "dog bites cat ."))
    assert a["blocks.1.hook_resid_post"]["data"][:2] == b["blocks.1.hook_resid_post"]["data"][:2]
    assert a["blocks.1.hook_resid_post"]["data"][2] != b["blocks.1.hook_resid_post"]["data"][2]


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("the king met the girl and", "he"),
        ("the dogs that saw the fox", "are"),
        ("the cat took the boat , left the bank and saw the", "water"),
        ("the cat took the money , left the bank and saw the", "clerk"),
    ],
)
def test_greedy_generation_continues_the_grammar(client: Client, prompt: str, expected: str) -> None:
    response = client.post(f"{URL}/generate", json={"prompt": prompt, "temperature": 0})
    result = response.json()
    assert result["steps"][0]["token"] == expected
    assert result["stop_reason"] == "eos"


def test_seeded_sampling_is_reproducible_and_seeds_differ(client: Client) -> None:
    body = {"prompt": "the", "temperature": 2.0, "max_new_tokens": 20}
    runs = [client.post(f"{URL}/generate", json={**body, "seed": s}).json() for s in (9, 9, 10, 11, 12)]
    assert runs[0] == runs[1]
    assert len({r["text"] for r in runs}) > 2


def test_a_full_context_is_read_whole_and_one_more_word_is_refused(client: Client) -> None:
    full = "the dog chased the cat . who was chased ? the cat . the dogs that saw the fox are happy . dog bites"
    assert len(_forward(client, full)["tokens"]) == 24
    response = client.post(f"{URL}/forward", json={"input": full + " man"})
    assert response.status_code == 422
    assert "25 tokens long. The context holds 24" in response.json()["detail"]


def test_generation_past_the_context_slides_a_window_of_the_last_24_words(client: Client) -> None:
    prompt = "the dog chased the cat . who was chased ? the cat . the dogs that saw the fox are happy ."
    result = client.post(f"{URL}/generate", json={"prompt": prompt, "temperature": 0, "max_new_tokens": 8}).json()
    words = [*result["prompt_tokens"], *(s["token"] for s in result["steps"])]
    assert len(words) > 24
    for n, step in enumerate(result["steps"]):
        context = words[: len(result["prompt_tokens"]) + n][-24:]  # what the model saw for this step
        out = _forward(client, " ".join(context), temperature=0)["output"]
        assert step["token"] == out["prediction"]


def test_the_walk_shows_every_hook_of_every_block_in_forward_order(client: Client) -> None:
    detail = client.get(URL).json()
    walk = detail["stages"]
    results = [panel["hook"] for stage in walk for panel in stage["hooks"]]
    shown = {panel["hook"] for stage in walk for panel in (*stage["inputs"], *stage["hooks"])}
    assert shown == set(detail["hook_names"])  # every value of the pass, every layer: none left out, none made up
    order = detail["hook_names"].index
    assert results == sorted(results, key=order)  # in the order the model computes them
    groups = list(dict.fromkeys(stage["group"] for stage in walk))
    assert groups == ["input", *(f"block {i}" for i in range(detail["config"]["n_layers"])), "output"]
    n = detail["config"]["n_layers"]
    same = {f"blocks.{i}.hook_resid_pre": f"blocks.{i - 1}.hook_resid_post" for i in range(1, n)}  # one value
    for i, stage in enumerate(walk):  # what a stage is computed from is the result of a stage before it
        before = {p["hook"] for s in walk[:i] for p in s["hooks"]}
        for panel in stage["inputs"]:
            assert panel["hook"] in before or same.get(panel["hook"]) in before, (stage["label"], panel["hook"])


def test_a_forward_of_max_tokens_is_served_and_one_more_is_refused(client: Client) -> None:
    detail = client.get(URL).json()
    n = detail["limits"]["max_tokens"]
    assert n == detail["config"]["n_ctx"]
    assert len(_forward(client, "the " * n)["tokens"]) == n
    response = client.post(f"{URL}/forward", json={"input": "the " * (n + 1)})
    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"input: the text is {n + 1} tokens long")


@pytest.mark.parametrize(
    ("limit", "route", "field", "past"),
    [
        ("top_k_max", "forward", "top_k", 1),
        ("temperature_max", "forward", "temperature", 0.01),
        ("temperature_min", "forward", "temperature", -0.00005),  # below the smallest T above 0
        ("repetition_penalty_max", "forward", "repetition_penalty", 0.01),
        ("max_new_tokens", "generate", "max_new_tokens", 1),
        ("seed_max", "generate", "seed", 1),
    ],
)
def test_each_limit_in_the_detail_is_served_and_a_step_past_it_is_refused(
    client: Client, limit: str, route: str, field: str, past: float
) -> None:
    value = client.get(URL).json()["limits"][limit]
    body = {"input" if route == "forward" else "prompt": "the dog chased the"}
    served = client.post(f"{URL}/{route}", json={**body, field: value})
    assert served.status_code == 200, served.text
    refused = client.post(f"{URL}/{route}", json={**body, field: value + past})
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith(f"{field}: ")


def test_a_prompt_of_max_chars_is_served_and_one_more_character_is_refused(client: Client) -> None:
    n = client.get(URL).json()["limits"]["max_chars"]
    prompt = "the dog".ljust(n)  # spaces count as characters
    served = client.post(f"{URL}/generate", json={"prompt": prompt, "temperature": 0, "max_new_tokens": 1})
    assert served.status_code == 200, served.text
    refused = client.post(f"{URL}/generate", json={"prompt": prompt + " ", "temperature": 0})
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith(f"prompt: the text is {n + 1} characters long")


def _compare(client: Client, text: str, other: str) -> dict[str, Any]:
    response = client.post(f"{URL}/compare", json={"input": text, "other": other})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_comparing_two_texts_gives_the_distance_of_their_residual_streams_in_the_forward_answers(
    client: Client,
) -> None:
    text, other = "the dog chased the cat", "the dog chased the fox ."
    found = _compare(client, text, other)
    a, b = _forward(client, text), _forward(client, other)
    assert (found["model"], found["tokens"], found["other_tokens"]) == ("tiny-gpt", a["tokens"], b["tokens"])
    assert found["layers"] == [{"layer": lens["layer"], "hook": lens["hook"]} for lens in a["lens"]]
    assert len(found["distance"]) == len(found["layers"])
    for layer, row in zip(found["layers"], found["distance"], strict=True):
        xs, ys = _steps(a)[layer["hook"]]["data"], _steps(b)[layer["hook"]]["data"]
        assert len(row) == 5  # every position both texts have
        for pos, d in enumerate(row):
            norm = math.sqrt(sum((x - y) ** 2 for x, y in zip(xs[pos], ys[pos], strict=True)))
            assert d == pytest.approx(norm, abs=1e-3), (layer, pos)  # from steps rounded to 4 places
    assert found["first_difference"] == 4
    assert all(d == 0 for row in found["distance"] for d in row[:4])
    assert (found["prediction"], found["other_prediction"]) == (a["output"]["prediction"], b["output"]["prediction"])


def test_when_one_text_begins_the_other_the_streams_never_part(client: Client) -> None:
    found = _compare(client, "the dog chased", "the dog chased the cat")
    assert found["first_difference"] is None
    assert found["distance"] == [[0.0, 0.0, 0.0]] * len(found["layers"])


def test_comparing_on_the_translator_is_a_404_naming_the_model_that_compares(client: Client) -> None:
    response = client.post("/api/models/tiny-translator/compare", json={"input": "the cat .", "other": "a cat ."})
    assert response.status_code == 404
    assert "tiny-gpt" in response.json()["detail"]


def test_a_comparison_without_the_other_text_is_a_422_naming_it(client: Client) -> None:
    response = client.post(f"{URL}/compare", json={"input": "the dog"})
    assert response.status_code == 422
    assert "'other'" in response.json()["detail"]
