"""The text-net family in the API: its detail and its forward pass (one token in, a distribution out)."""

from __future__ import annotations

from app import schemas
from app.families import text
from app.families.mlp import layer_label
from app.families.steps import Label, steps_from_cache
from models.registry import LoadedTextNet
from models.sampling import next_token_distribution


def detail_fields(model: LoadedTextNet) -> dict[str, object]:
    return {"vocab": model.tokenizer.vocab, "embedding": model.module.embed.weight.tolist()}


def _label(model: LoadedTextNet, name: str, word: str) -> Label:
    if name == "hook_embed":
        return f"Embedding vector for '{word}'", f"e = E['{word}'], row {model.tokenizer.ids[word]} of the table", None
    if name == "hook_logits":
        k = model.module.config.n_layers
        return "OUTPUT LAYER (logits)", f"logits = W_out·a{k} + b_out", model.module.unembed
    return layer_label(model.module, name, "e", None)


def forward(model: LoadedTextNet, request: schemas.ForwardRequest) -> schemas.ForwardResult:
    text.no_target(request, "textnet")
    ids = text.parse_text(model, request.input, "input")
    text.check_top_k(model, request.top_k)
    logits, cache = model.run_with_cache(ids)
    word = model.tokenizer.vocab[ids[-1]]
    dist = next_token_distribution(
        logits, request.temperature, request.top_k, request.top_p, request.repetition_penalty, previous=ids
    )
    return schemas.ForwardResult(
        model=model.id,
        input=request.input,
        tokens=model.tokenizer.decode(ids),
        steps=steps_from_cache(model.module, cache, lambda name: _label(model, name, word)),
        output=text.output(dist, model.tokenizer.vocab),
    )
