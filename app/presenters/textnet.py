"""The text-net family in the API: its detail and its forward pass (one token in, a distribution out)."""

from __future__ import annotations

from functools import cache

from app import schemas
from app.families import text
from app.families.mlp import layer_label
from app.families.steps import STEPS, Label, Layout, layout, steps_from_cache
from app.walks import Walk, Walks
from models.registry import LoadedTextNet


def detail_fields(model: LoadedTextNet) -> dict[str, object]:
    return {"vocab": model.tokenizer.vocab, "embedding": model.module.embed.weight.tolist()}


def _label(model: LoadedTextNet, name: str, word: str) -> Label:
    if name == "hook_embed":
        return f"Embedding vector for '{word}'", f"e = E['{word}'], row {model.tokenizer.ids[word]} of the table", None
    if name == "hook_logits":
        k = model.module.config.n_layers
        return "OUTPUT LAYER (logits)", f"logits = W_out·a{k} + b_out", model.module.unembed
    return layer_label(model.module, name, "e", None)


@cache
def _layout(model: LoadedTextNet, word: str) -> list[Layout]:
    return layout(model.module, lambda name: _label(model, name, word))


def walk(model: LoadedTextNet, token: int) -> Walk:
    """The pass over one token: the net reads only the last token of its input."""
    logits, cache_ = model.run_with_cache([token])
    steps = steps_from_cache(_layout(model, model.tokenizer.vocab[token]), cache_)
    return Walk({"steps": STEPS.dump_json(steps)}, logits)


def forward(model: LoadedTextNet, request: schemas.ForwardRequest, walks: Walks) -> bytes:
    text.no_target(request, "textnet")
    ids = text.parse_text(model, request.input, "input")
    text.check_top_k(model, request.top_k)
    last = ids[-1]
    return text.respond(
        walks, (model.id, last), lambda: walk(model, last), request, model.tokenizer.vocab, ids,
        model=model.id, input=request.input, tokens=model.tokenizer.decode(ids),
    )  # fmt: skip
