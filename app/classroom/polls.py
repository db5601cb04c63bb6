"""A poll's question and the model's answer to it, read off the forward answer the lecturer's page shows.

The numbers are the ones on the projector: the same forward request runs through the family's presenter (and the
pass cache), and the poll keeps its distribution: the next word's probabilities after the page's temperature,
top-k and top-p, or one row of a head's attention pattern. Nothing here computes a model number.
"""

from __future__ import annotations

import secrets
from random import SystemRandom
from typing import Any

import orjson

from app import schemas
from app.classroom.board import Poll
from app.errors import InputError
from app.passes import PassCache
from app.presenters import Presenter
from models.families import LoadedModel

SHOWN = 10  # words of the model's distribution shown beside the class's answers
_shuffle = SystemRandom()


def _answer(model: LoadedModel[Any], presenter: Presenter[Any], request: schemas.ForwardRequest,
            passes: PassCache) -> dict[str, Any]:  # fmt: skip
    answer: dict[str, Any] = orjson.loads(presenter.forward(model, request, passes))
    return answer


def _poll_id() -> str:
    return "p" + secrets.token_hex(4)


def next_word(
    model: LoadedModel[Any], presenter: Presenter[Any], request: schemas.ForwardRequest, passes: PassCache, n: int
) -> Poll:
    """ "Which word comes next?": the model's `n` likeliest words (by probability, then logit, so a temperature of
    0 still offers `n`), in a shuffled order."""
    answer = _answer(model, presenter, request, passes)
    output = answer.get("output")
    if not isinstance(output, dict) or "probs" not in output:
        raise InputError(
            "kind", f"'{model.id}' ({model.family}) predicts no next word",
            "Ask which word a head attends to most, or ask for the next word on a text model's page.",
        )  # fmt: skip
    # A translator's next word is one of its target's words; every other text model's, of its own vocabulary.
    tokenizer = getattr(model, "target_tokenizer", None) or getattr(model, "tokenizer", None)
    vocab: list[str] = tokenizer.vocab if tokenizer is not None else []
    if len(vocab) <= max(output["ids"] or [len(output["probs"]) - 1]):
        raise InputError("kind", f"'{model.id}' ({model.family}) names no words for its outputs",
                         "Ask which word a head attends to most instead.")  # fmt: skip
    ids = output["ids"] or list(range(len(output["probs"])))
    ranked = sorted(zip(ids, output["probs"], output["logits"], strict=True), key=lambda t: (-t[1], -t[2]))
    top = ranked[:n]
    choices = _shuffle.sample(top, len(top))
    shown = ranked[:SHOWN]
    rest = max(0.0, 1.0 - sum(p for _, p, _ in shown))
    if "target_tokens" in answer:
        question = f"Translating “{request.input}”: which word comes after “{request.target or ''}”?"
    else:
        question = f"Which word comes next after “{request.input}”?"
    return Poll(
        id=_poll_id(), kind="next_word", question=question, model=model.id,
        choices=[vocab[i] for i, _, _ in choices], model_probs=[p for _, p, _ in choices],
        distribution={"words": [vocab[i] for i, _, _ in shown], "probs": [p for _, p, _ in shown], "rest": rest},
    )  # fmt: skip


def _key_tokens(answer: dict[str, Any], hook: str) -> tuple[list[str], list[str]]:
    """The words of an attention pattern's queries and keys: a decoder's own words, or (cross-attention) its
    queries' own and the source's keys; every other stream reads the input's words."""
    tokens: list[str] = answer.get("tokens") or []
    target: list[str] = answer.get("target_tokens") or tokens
    if hook.startswith("decoder."):
        return target, tokens if "cross_attn" in hook else target
    return tokens, tokens


def _labels(words: list[str]) -> list[str]:
    """Each key's word; a word that appears twice gets its position, so the choices can be told apart."""
    return [f"{j} {w}" if words.count(w) > 1 else w for j, w in enumerate(words)]  # as the page's axes number them


def attention(
    model: LoadedModel[Any], presenter: Presenter[Any], request: schemas.ForwardRequest, passes: PassCache,
    hook: str, head: int, query: int,
) -> Poll:  # fmt: skip
    """ "Which word does this head attend to most?": the choices are the words the query may attend to, in order;
    the model's answer is the pattern's row."""
    patterns = model.attention_patterns()
    if hook not in patterns:
        listed = ", ".join(patterns[:6]) + (", …" if len(patterns) > 6 else "") or "none"
        raise InputError("hook", f"{hook!r} is not an attention pattern of '{model.id}'", f"Use one of: {listed}.")
    answer = _answer(model, presenter, request.model_copy(update={"hooks": [hook], "heads": None, "positions": None}),
                     passes)  # fmt: skip
    step = answer["steps"][0]
    n_heads, n_queries, _ = step["shape"]
    if not 0 <= head < n_heads:
        raise InputError("head", f"{head} is not a head of {hook} ({n_heads} heads)", f"Use 0 to {n_heads - 1}.")
    if not 0 <= query < n_queries:
        raise InputError("query", f"{query} is not a position of this input ({n_queries} positions)",
                         f"Use 0 to {n_queries - 1}.")  # fmt: skip
    row: list[float] = step["data"][head][query]
    queries, keys = _key_tokens(answer, hook)
    if "cross_attn" not in hook and all(w == 0 for w in row[query + 1 :]):
        row, keys = row[: query + 1], keys[: query + 1]  # causal: a word attends only to itself and those before
    choices = _labels(keys)
    where = step["title"].removesuffix(" · Attention pattern")
    question = f"{where}, head {head}: which word does “{queries[query]}” attend to most?"
    return Poll(
        id=_poll_id(), kind="attention", question=question, model=model.id, choices=choices, model_probs=row,
        distribution={"words": choices, "probs": row, "rest": 0.0},
    )  # fmt: skip
