"""The MiniLM encoder (bert family) in the API: the detail's walk through post-LN blocks, a forward pass that returns
the steps asked for (recomputed here from the steps before them), an unfolded value that ends on the shown one, two
sentences' cosine, and the 422s. Choosing steps (`hooks`) is tested for every transformer family at the end."""

from __future__ import annotations

import math
from typing import Any

import pytest
from fastapi import FastAPI

from tests.app.conftest import Client

URL = "/api/models/minilm-l6"
FOOD = "A man is eating food."
EXACT = 2e-4  # values go out rounded to 4 places; a recomputation from rounded inputs gets a little slack


def _forward(client: Client, text: str, hooks: list[str] | str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"input": text} if hooks is None else {"input": text, "hooks": hooks}
    response = client.post(f"{URL}/forward", json=body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _steps(result: dict[str, Any]) -> dict[str, list[Any]]:
    return {s["name"]: s["data"] for s in result["steps"]}


def test_the_detail_walks_embeddings_then_six_post_ln_blocks_without_a_vocabulary(client: Client) -> None:
    detail = client.get(URL).json()
    assert (detail["family"], detail["input"], detail["config"]["n_heads"], detail["config"]["n_layers"]) == (
        "bert", "text", 12, 6
    )  # fmt: skip
    assert "vocab" not in detail  # any English is read: the page needs no palette of 30,522 pieces
    assert detail["limits"] == {"max_chars": 400, "max_tokens": 64, "n_ctx": 512}
    stages = detail["stages"]
    assert [s["label"] for s in stages[:5]] == ["embeddings", "positions", "token types", "sum", "layer norm"]
    assert {s["group"] for s in stages} == {"input", *(f"block {i}" for i in range(6))}
    block = [s for s in stages if s["group"] == "block 2"]
    labels = [s["label"] for s in block]
    assert labels[0] == "Q, K, V"  # post-LN: no layer norm before attention
    assert labels[-3:] == ["compress", "residual out", "layer norm 2"]  # …and one after each add
    assert block[0]["inputs"][0]["hook"] == "blocks.2.hook_resid_pre"
    assert next(s for s in block if s["label"] == "every head")["view"] == "heads"
    assert detail["training"]["provenance"]["license"] == "Apache-2.0"


def test_forward_shows_wordpiece_pieces_and_by_default_only_the_first_stage(client: Client) -> None:
    result = _forward(client, "Transformers read unbelievably.")
    tokens = result["tokens"]
    assert (tokens[0], tokens[-1]) == ("[CLS]", "[SEP]")
    assert any(t.startswith("##") for t in tokens)  # an unusual word becomes several pieces
    assert [s["name"] for s in result["steps"]] == ["hook_embed"]  # what the walk's first stage shows
    assert result["shapes"]["blocks.5.attn.hook_pattern"] == [12, len(tokens), len(tokens)]
    assert len(result["output"]["embedding"]) == 384


def test_a_blocks_attention_and_post_ln_adds_recompute_from_the_steps_before(client: Client) -> None:
    b = "blocks.1."
    hooks = [f"{b}hook_resid_pre", f"{b}attn.hook_q", f"{b}attn.hook_k", f"{b}attn.hook_scores",
             f"{b}attn.hook_pattern", f"{b}hook_attn_out", f"{b}hook_resid_mid", f"{b}ln1.hook_normalized",
             f"{b}hook_mlp_out", f"{b}hook_resid_post", "blocks.0.ln2.hook_normalized"]  # fmt: skip
    steps = _steps(_forward(client, FOOD, hooks))
    assert list(steps) == [hooks[-1], *hooks[:-1]]  # forward order, whatever order they were asked in
    assert steps[f"{b}hook_resid_pre"] == steps["blocks.0.ln2.hook_normalized"]  # a block reads the last one's output
    q, k, scores = steps[f"{b}attn.hook_q"], steps[f"{b}attn.hook_k"], steps[f"{b}attn.hook_scores"]
    d_head = len(q[0][0])
    for h in (0, 11):
        for i in range(len(q[h])):
            row = scores[h][i]
            assert None not in row  # nothing is masked: one sentence has no padding
            for j in range(len(row)):
                dot = sum(a * c for a, c in zip(q[h][i], k[h][j], strict=True)) / math.sqrt(d_head)
                assert row[j] == pytest.approx(dot, abs=5e-3)
            exp = [math.exp(s - max(row)) for s in row]
            pattern = steps[f"{b}attn.hook_pattern"][h][i]
            assert pattern == pytest.approx([e / sum(exp) for e in exp], abs=EXACT)
    x, out, mid = steps[f"{b}hook_resid_pre"], steps[f"{b}hook_attn_out"], steps[f"{b}hook_resid_mid"]
    assert mid[3] == pytest.approx([a + c for a, c in zip(x[3], out[3], strict=True)], abs=EXACT)
    normalized = steps[f"{b}ln1.hook_normalized"]
    post = steps[f"{b}hook_resid_post"]  # post-LN: the feed-forward adds onto the normalized stream
    added = [a + c for a, c in zip(normalized[3], steps[f"{b}hook_mlp_out"][3], strict=True)]
    assert post[3] == pytest.approx(added, abs=EXACT)


def test_explain_unfolds_a_blocks_value_to_the_shown_number_from_the_kept_pass(client: Client, app: FastAPI) -> None:
    hook = "blocks.3.hook_resid_post"
    shown = _steps(_forward(client, FOOD, [hook]))[hook][4][100]
    misses = app.state.passes.misses
    response = client.post(f"{URL}/explain", json={"input": FOOD, "hook": hook, "index": [4, 100]})
    assert response.status_code == 200, response.text
    found = response.json()
    assert app.state.passes.misses == misses  # the pass /forward kept: no forward pass again
    assert found["total"] == pytest.approx(shown, abs=1e-4)
    assert math.fsum(t["value"] for t in found["terms"]) == pytest.approx(found["sum"], abs=1e-9)
    score = {"input": FOOD, "hook": "blocks.0.attn.hook_scores_raw", "index": [5, 2, 4]}
    raw = client.post(f"{URL}/explain", json=score).json()
    assert raw["n_terms"] == 32  # q · k over d_head = 384 / 12


@pytest.mark.parametrize(
    ("other", "cosine"), [("A man is eating a piece of bread.", 0.755), ("The girl is carrying a baby.", -0.105)]
)
def test_compare_gives_the_cosine_of_the_mean_pooled_embeddings(client: Client, other: str, cosine: float) -> None:
    response = client.post(f"{URL}/compare", json={"input": FOOD, "other": other})
    assert response.status_code == 200, response.text
    found = response.json()
    assert found["cosine"] == pytest.approx(cosine, abs=0.01)
    a, b = found["embedding"], found["other_embedding"]
    recomputed = sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
        sum(x * x for x in a) * sum(y * y for y in b)
    )
    assert recomputed == pytest.approx(found["cosine"], abs=1e-3)  # from the rounded embeddings it shows
    alone = _forward(client, FOOD)["output"]["embedding"]  # one sentence alone pools the same as in the pair
    assert alone == pytest.approx(a, abs=2e-4)
    assert (found["tokens"][0], found["other_tokens"][-1]) == ("[CLS]", "[SEP]")


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"input": "a man eats " * 21}, "input", "65 WordPiece pieces long"),
        ({"input": "   "}, "input", "the text is empty"),
        ({"input": FOOD, "temperature": 0.5}, "temperature", "predicts no next token"),
        ({"input": FOOD, "hooks": ["blocks.9.attn.hook_q"]}, "hooks", "not a hook of 'minilm-l6'"),
    ],
)
def test_what_the_encoder_refuses_is_a_422_naming_the_field(
    client: Client, body: dict[str, Any], field: str, says: str
) -> None:
    response = client.post(f"{URL}/forward", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
    assert says in response.json()["detail"]


def test_any_english_is_read_even_words_it_never_saw(client: Client) -> None:
    result = _forward(client, "Zyxqwv glorptastic naïve 東京")
    assert "[UNK]" in result["tokens"] or any(t.startswith("##") for t in result["tokens"])


# ---- choosing the steps: every transformer family --------------------------------------------------------------

TEXTS = {
    "tiny-gpt": {"input": "the dog chased the cat"},
    "tiny-translator": {"input": "the cat sleeps .", "target": "le"},
    "minilm-l6": {"input": FOOD},
}


@pytest.mark.parametrize("model", list(TEXTS))
def test_the_default_answer_is_the_first_panels_and_small(client: Client, model: str) -> None:
    first = client.get(f"/api/models/{model}").json()["stages"][0]
    wanted = {p["hook"] for p in (*first["inputs"], *first["hooks"])}
    default = client.post(f"/api/models/{model}/forward", json=TEXTS[model])
    every = client.post(f"/api/models/{model}/forward", json={**TEXTS[model], "hooks": "all"})
    assert {s["name"] for s in default.json()["steps"]} == wanted
    assert (
        len(every.json()["steps"])
        == len(every.json()["shapes"])
        == len(client.get(f"/api/models/{model}").json()["hook_names"])
    )
    assert len(default.content) < len(every.content) / 5
    assert default.json()["shapes"] == every.json()["shapes"]


@pytest.mark.parametrize("model", list(TEXTS))
def test_a_stages_hooks_alone_are_returned_with_the_values_all_gives(client: Client, model: str) -> None:
    stage = next(s for s in client.get(f"/api/models/{model}").json()["stages"] if s["label"] == "softmax")
    hooks = [p["hook"] for p in (*stage["inputs"], *stage["hooks"])]
    chosen = client.post(f"/api/models/{model}/forward", json={**TEXTS[model], "hooks": hooks}).json()
    every = client.post(f"/api/models/{model}/forward", json={**TEXTS[model], "hooks": "all"}).json()
    assert [s["name"] for s in chosen["steps"]] == hooks
    assert chosen["steps"] == [s for s in every["steps"] if s["name"] in hooks]
    assert chosen["output"] == every["output"]


def test_a_new_stage_of_the_same_text_runs_no_pass_again(client: Client, app: FastAPI) -> None:
    client.post(f"{URL}/forward", json={"input": "Stage by stage."})
    misses = app.state.passes.misses
    for hook in ("blocks.0.attn.hook_pattern", "blocks.4.mlp.hook_post"):
        assert client.post(f"{URL}/forward", json={"input": "Stage by stage.", "hooks": [hook]}).status_code == 200
    assert app.state.passes.misses == misses


def test_an_unknown_hook_is_a_422_naming_the_nearest(client: Client) -> None:
    body = {"input": "the dog", "hooks": ["blocks.0.attn.hook_q", "blocks.1.attn.hook_patern"]}
    response = client.post("/api/models/tiny-gpt/forward", json=body)
    assert response.status_code == 422
    assert "Nearest: blocks.1.attn.hook_pattern" in response.json()["detail"]


def test_a_large_step_asked_for_in_parts_is_the_whole_step(client: Client) -> None:
    text = " ".join(["word"] * 40)
    for hook, field, size in [("blocks.2.attn.hook_pattern", "heads", 12), ("blocks.2.mlp.hook_post", "positions", 42)]:
        whole = _forward(client, text, [hook])["steps"][0]
        pieces = []
        for start in range(0, size, 5):
            body = {"input": text, "hooks": [hook], field: [start, start + 5]}  # the last stop is past the end: cut
            response = client.post(f"{URL}/forward", json=body)
            assert response.status_code == 200, response.text
            pieces += response.json()["steps"][0]["data"]
        assert pieces == whole["data"]
        past = client.post(f"{URL}/forward", json={"input": text, "hooks": [hook], field: [size, size + 1]})
        assert past.status_code == 422
        assert past.json()["errors"][0]["field"] == field
