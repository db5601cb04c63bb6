"""What every text family shares in the API: reading text, the next-token distribution, and generation."""

from __future__ import annotations

import difflib
import secrets
import unicodedata
from collections.abc import Callable, Hashable

import torch

from app import schemas
from app.errors import InputError
from app.walks import Walk, Walks, spliced
from models.generation import generate as run_generation
from models.registry import LoadedModel, TextModel
from models.sampling import Distribution, next_token_distribution
from models.tokenizers import UnknownWordError, WordTokenizer

LIST_WHOLE_VOCAB = 12  # a vocabulary this small is quoted whole in an unknown-word message


def parse_text(model: LoadedModel, value: float | str, field: str, tokenizer: WordTokenizer | None = None) -> list[int]:
    """The ids of a text input (read with the model's tokenizer unless another is given), or an InputError that
    names the problem and the fix."""
    listing = "vocab" if tokenizer is None else "target_vocab"  # which list of the model's detail holds the words
    tokenizer = tokenizer or model.tokenizer  # type: ignore[union-attr]
    vocab = tokenizer.vocab
    if not isinstance(value, str):
        example = next((word for word in vocab if word.isalpha()), vocab[0])
        raise InputError(field, f"this model takes text, got the number {value!r}", f"Send words such as '{example}'.")
    if not value.strip():
        raise InputError(field, "the text is empty", f"Send words of the vocabulary (GET /api/models/{model.id}).")
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
        return tokenizer.encode(value)
    except UnknownWordError as error:
        if len(vocab) <= LIST_WHOLE_VOCAB:
            raise InputError(
                field, str(error), f"Use only those words (GET /api/models/{model.id} lists them)."
            ) from None
        near = difflib.get_close_matches(error.word, vocab, n=3)
        hint = f"Nearest known: {', '.join(near)}. " if near else ""
        problem = f"'{error.word}' is not in the vocabulary"
        fix = f"{hint}GET /api/models/{model.id} lists all {len(vocab)} words (its {listing})."
        raise InputError(field, problem, fix) from None


def no_target(request: schemas.ForwardRequest, family: str) -> None:
    if request.target is not None:
        raise InputError(
            "target", f"a {family} model has no decoder prefix", "Leave it out: only the translator takes one."
        )


def check_top_k(model: LoadedModel, top_k: int | None, tokenizer: WordTokenizer | None = None) -> None:
    size = len((tokenizer or model.tokenizer).vocab)  # type: ignore[union-attr]
    if top_k is not None and top_k > size:
        raise InputError("top_k", f"{top_k} is more than the vocabulary's {size} words", f"Send 1 to {size}, or null.")


# Stands in for a result's output until spliced() puts the kept JSON of the real one in its place.
_PLACEHOLDER = schemas.TextOutput(logits=[], scaled=None, probs=[], kept=[], prediction="", prediction_id=0, entropy=0)


def respond(
    walks: Walks,
    key: Hashable,
    make: Callable[[], Walk],
    request: schemas.ForwardRequest,
    vocab: list[str],
    previous: list[int],
    exclude: tuple[int, ...] = (),
    **fields: object,
) -> bytes:
    """A text model's forward answer as JSON: the pass kept under `key` (made by `make` the first time), the
    next-token distribution for the request's settings (kept too), and the result's other `fields`."""
    kept = walks.get(key, make)
    placeholders: dict[str, object] = {name: [] for name in kept.parts}  # steps, lens: spliced in below
    result = schemas.ForwardResult.model_validate({**fields, **placeholders, "output": _PLACEHOLDER})
    out = _next_token_json(walks, key, kept.logits, request, vocab, previous, exclude)
    return spliced(result, {**kept.parts, "output": out})


def _next_token_json(
    walks: Walks,
    key: Hashable,
    logits: torch.Tensor,
    request: schemas.ForwardRequest,
    vocab: list[str],
    previous: list[int],
    exclude: tuple[int, ...],
) -> bytes:
    """The next-token distribution after the pass kept under `key`, as JSON, for the request's sampling settings.

    It is kept too: a slider has a hundred positions and a class drags the same ones. `previous` counts only
    through the repetition penalty, so only then is it part of the key."""
    penalised = frozenset(previous) if request.repetition_penalty is not None else frozenset()
    settings = (request.temperature, request.top_k, request.top_p, request.repetition_penalty, penalised)

    def make() -> bytes:
        dist = next_token_distribution(
            logits, request.temperature, request.top_k, request.top_p, request.repetition_penalty, previous, exclude
        )
        return output(dist, vocab).model_dump_json().encode()

    return walks.body(("next token", key, settings), make)


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


def generate(model: TextModel, request: schemas.GenerateRequest) -> schemas.GenerateResult:
    prompt = parse_text(model, request.prompt, "prompt")
    check_top_k(model, request.top_k)
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
        reads=model.reads,
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
