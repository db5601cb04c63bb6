"""The text-net family in the API: its detail, its forward pass (one token in, a distribution out), generation."""

from __future__ import annotations

import secrets
import unicodedata

from app import schemas
from app.errors import InputError
from app.families.mlp import layer_label
from app.families.steps import Label, steps_from_cache
from models.generation import generate as run_generation
from models.registry import LoadedTextNet
from models.sampling import Distribution, next_token_distribution
from models.tokenizers import UnknownWordError


def detail_fields(model: LoadedTextNet) -> dict[str, object]:
    return {"vocab": model.tokenizer.vocab, "embedding": model.module.embed.weight.tolist()}


def parse_text(model: LoadedTextNet, value: float | str, field: str) -> list[int]:
    """The ids of a text input, or an InputError that names the problem and the fix."""
    words = ", ".join(model.tokenizer.vocab)
    if not isinstance(value, str):
        raise InputError(field, f"this model takes text, got the number {value!r}", "Send a word such as 'hello'.")
    if not value.strip():
        raise InputError(field, "the text is empty", f"Send a word of the vocabulary: {words}.")
    if len(value) > schemas.MAX_TEXT_CHARS:
        raise InputError(field, f"the text is {len(value)} characters long", f"Send at most {schemas.MAX_TEXT_CHARS}.")
    control = next((c for c in value if unicodedata.category(c) == "Cc" and c not in "\t\n\r"), None)
    if control is not None:
        raise InputError(field, f"the text holds the control character U+{ord(control):04X}", "Send plain text.")
    surrogate = next((c for c in value if unicodedata.category(c) == "Cs"), None)
    if surrogate is not None:
        problem = f"the text holds U+{ord(surrogate):04X}, half of a surrogate pair"
        raise InputError(field, problem, "Send valid Unicode text.")
    try:
        return model.tokenizer.encode(value)
    except UnknownWordError as error:
        raise InputError(field, str(error), f"Use only those words (GET /api/models/{model.id} lists them).") from None


def _check_top_k(model: LoadedTextNet, top_k: int | None) -> None:
    size = len(model.tokenizer.vocab)
    if top_k is not None and top_k > size:
        raise InputError("top_k", f"{top_k} is more than the vocabulary's {size} words", f"Send 1 to {size}, or null.")


def _label(model: LoadedTextNet, name: str, word: str) -> Label:
    if name == "hook_embed":
        return f"Embedding vector for '{word}'", f"e = E['{word}'], row {model.tokenizer.ids[word]} of the table", None
    if name == "hook_logits":
        k = model.module.config.n_layers
        return "OUTPUT LAYER (logits)", f"logits = W_out·a{k} + b_out", model.module.unembed
    return layer_label(model.module, name, "e", None)


def output(dist: Distribution, vocab: list[str]) -> schemas.TextOutput:
    return schemas.TextOutput(
        logits=dist.logits.tolist(),
        scaled=None if dist.scaled is None else dist.scaled.tolist(),
        probs=dist.probs.tolist(),
        kept=dist.kept,
        prediction=vocab[dist.argmax],
        prediction_id=dist.argmax,
        entropy=dist.entropy_bits,
    )


def forward(model: LoadedTextNet, request: schemas.ForwardRequest) -> schemas.ForwardResult:
    ids = parse_text(model, request.input, "input")
    _check_top_k(model, request.top_k)
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
        output=output(dist, model.tokenizer.vocab),
    )


def generate(model: LoadedTextNet, request: schemas.GenerateRequest) -> schemas.GenerateResult:
    prompt = parse_text(model, request.prompt, "prompt")
    _check_top_k(model, request.top_k)
    seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
    result = run_generation(
        model.next_logits,
        prompt,
        eos_id=model.eos_id,
        max_new_tokens=request.max_new_tokens,
        seed=seed,
        temperature=request.temperature,
        top_k=request.top_k,
        top_p=request.top_p,
        repetition_penalty=request.repetition_penalty,
    )
    vocab = model.tokenizer.vocab
    return schemas.GenerateResult(
        model=model.id,
        prompt_tokens=model.tokenizer.decode(prompt),
        text=" ".join(model.tokenizer.decode(prompt + result.ids)),
        steps=[
            schemas.GeneratedToken(token=vocab[s.id], id=s.id, prob=s.prob, top=[(vocab[i], p) for i, p in s.top])
            for s in result.steps
        ],
        stop_reason=result.stop_reason,
        loop=None if result.loop is None else (vocab[result.loop[0]], vocab[result.loop[1]]),
        seed=seed,
    )
