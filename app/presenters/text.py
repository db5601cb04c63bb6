"""What every text family shares in the API: reading text, the next-token distribution after a kept pass, the
limits a page must respect, and generation."""

from __future__ import annotations

import difflib
import secrets
import unicodedata
from collections.abc import Callable, Hashable, Mapping
from typing import Any, ClassVar, TypeVar

import torch
from pydantic import BaseModel, Field

from app import schemas
from app.errors import InputError
from app.passes import KeptPass, PassCache, spliced
from app.presenters import whatif
from app.presenters.base import Presenter, Selected, answering, shapes
from models.explain import NextToken
from models.families import TextModel
from models.generation import generate as run_generation
from models.hooks import editing
from models.sampling import Distribution, most_likely, next_token_distribution
from models.tokenizers import Tokenizer, UnknownTokenError

LIST_WHOLE_VOCAB = 12  # a vocabulary this small is quoted whole in an unknown-word message
T = TypeVar("T", bound=TextModel[Any])


class TextOutput(BaseModel):
    """The next token after the last position. Its arrays are over the whole vocabulary ([vocab], in id order), or,
    for a vocabulary of more than schemas.WHOLE_VOCAB tokens, over `ids`: its SHOWN_VOCAB likeliest."""

    ids: list[int] | None = Field(
        description=f"Null: the arrays below hold every token, in id order. Else (a vocabulary of more than "
        f"{schemas.WHOLE_VOCAB} tokens) the ids they hold, in this order: the {schemas.SHOWN_VOCAB} most probable"
    )
    logits: list[float] = Field(description="After the repetition penalty if one was given")
    scaled: list[float] | None = Field(description="logits / T; null at T = 0")
    probs: list[float] = Field(description="softmax(logits / T) after top-k and top-p, renormalised")
    kept: list[int] = Field(
        description="The ids top-k and top-p let through, most probable first (those among `ids`, when it is given)"
    )
    kept_count: int = Field(description="How many tokens of the whole vocabulary top-k and top-p let through")
    rest: float = Field(description="The probability of the tokens left out of the arrays, together (0: none left out)")
    prediction: str = Field(description="The argmax token: what greedy decoding picks")
    prediction_id: int
    entropy: float = Field(description="Entropy of `probs`, in bits")


class TextLimits(BaseModel):
    """What the server accepts from this model's requests, so a page can keep to it (docs/api.md, Limits)."""

    max_chars: int = Field(description="Characters of text in `input`, `prompt` or `target`")
    max_tokens: int | None = Field(
        description="Tokens an input may have (the model's context); null where only max_chars bounds it (a text net "
        "reads the last word of any text)"
    )
    temperature_min: float = Field(description="The smallest temperature above 0 (0 itself is the argmax)")
    temperature_max: float
    top_k_max: int = Field(description="The vocabulary size")
    whole_vocab: int = Field(
        description="The largest vocabulary an answer holds whole; a larger one's answers hold its likeliest tokens "
        "(`output.ids`, a step's `columns`), and a page lists none of it"
    )
    repetition_penalty_max: float
    max_new_tokens: int = Field(description="The most tokens one generation adds (20 words; 400 characters)")
    seed_max: int


class TextDetail(schemas.ModelDetail):
    """A text model's detail: its vocabulary and the limits its requests must keep to."""

    vocab: list[str] = Field(description="The vocabulary (the source's, for a translator), in id order")
    limits: TextLimits


def limits(vocab_size: int, max_tokens: int | None, room: int = schemas.MAX_NEW_TOKENS) -> TextLimits:
    """The limits of a model with this vocabulary and context; `room`: the most tokens a generation can add (a
    translation stops at the decoder's context; a character model writes more than a word model)."""
    return TextLimits(
        max_chars=schemas.MAX_TEXT_CHARS, max_tokens=max_tokens, temperature_min=schemas.TEMPERATURE_MIN,
        temperature_max=schemas.TEMPERATURE_CAP, top_k_max=vocab_size, whole_vocab=schemas.WHOLE_VOCAB,
        repetition_penalty_max=schemas.PENALTY_CAP,
        max_new_tokens=min(room, schemas.MAX_NEW_CHARS), seed_max=schemas.SEED_MAX,
    )  # fmt: skip


def parse_text(
    model_id: str, tokenizer: Tokenizer, value: float | str, field: str, listing: str = "vocab"
) -> list[int]:
    """The ids of a text input, or an InputError that names the problem and the fix. `listing` names the list of
    the model's detail that holds the words."""
    vocab = tokenizer.vocab
    if not isinstance(value, str):
        example = next((word for word in vocab if word.isalpha()), vocab[0])
        raise InputError(field, f"this model takes text, got the number {value!r}", f"Send words such as '{example}'.")
    empty = InputError(field, "the text is empty", f"Send words of the vocabulary (GET /api/models/{model_id}).")
    if not value:
        raise empty
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
        ids = tokenizer.encode(value)  # a character model reads spaces and line breaks; a word model skips them
    except UnknownTokenError as error:
        characters = all(len(token) == 1 for token in vocab)
        if characters or len(vocab) <= LIST_WHOLE_VOCAB:
            kind = "characters" if characters else "words"
            fix = f"Use only those {kind} (GET /api/models/{model_id} lists them)."
            raise InputError(field, str(error), fix, unknown=error.token) from None
        near = difflib.get_close_matches(error.token, vocab, n=3)
        hint = f"Nearest known: {', '.join(near)}. " if near else ""
        problem = f"'{error.token}' is not in the vocabulary"
        fix = f"{hint}GET /api/models/{model_id} lists all {len(vocab)} words (its {listing})."
        raise InputError(field, problem, fix, unknown=error.token) from None
    if not ids:
        raise empty
    return ids


def no_target(request: schemas.ForwardRequest, family: str) -> None:
    if request.target is not None:
        raise InputError(
            "target", f"a {family} model has no decoder prefix", "Leave it out: only the translator takes one."
        )


def check_top_k(top_k: int | None, vocab_size: int) -> None:
    if top_k is not None and top_k > vocab_size:
        raise InputError(
            "top_k", f"{top_k} is more than the vocabulary's {vocab_size} words", f"Send 1 to {vocab_size}, or null."
        )


def next_token(request: schemas.ForwardRequest, previous: list[int], exclude: tuple[int, ...] = ()) -> NextToken:
    """The request's sampling settings, as the unfoldings of the next token read them."""
    return NextToken(
        request.temperature, request.top_k, request.top_p, request.repetition_penalty, tuple(previous), exclude
    )


def output(dist: Distribution, vocab: list[str]) -> TextOutput:
    """The distribution as the API gives it: whole, or a wide vocabulary's likeliest tokens and the mass of the rest."""
    ids = most_likely(dist, schemas.SHOWN_VOCAB) if len(vocab) > schemas.WHOLE_VOCAB else None
    index = None if ids is None else torch.tensor(ids)

    def shown(values: torch.Tensor) -> list[float]:
        return (values if index is None else values[index]).tolist()

    rest = 0.0
    if index is not None:
        left_out = torch.ones_like(dist.probs, dtype=torch.bool)
        left_out[index] = False
        rest = float(dist.probs[left_out].sum())
    among = set(ids or ())
    return TextOutput(
        ids=ids,
        logits=shown(dist.logits),
        scaled=None if dist.scaled is None else shown(dist.scaled),
        probs=shown(dist.probs),
        kept=dist.kept if ids is None else [i for i in dist.kept if i in among],
        kept_count=len(dist.kept),
        rest=rest,
        prediction=vocab[dist.argmax],
        prediction_id=dist.argmax,
        entropy=dist.entropy_bits,
    )


# Stands in for a result's output until spliced() puts the kept JSON of the real one in its place.
_PLACEHOLDER = TextOutput(
    ids=None, logits=[], scaled=None, probs=[], kept=[], kept_count=0, rest=0, prediction="", prediction_id=0, entropy=0
)


def respond(
    passes: PassCache,
    *,
    schema: type[schemas.ForwardResult],
    key: Hashable,
    capture: Callable[[], KeptPass],
    request: schemas.ForwardRequest,
    vocab: list[str],
    previous: list[int],
    exclude: tuple[int, ...] = (),
    fields: Mapping[str, object],
    selected: Selected | None = None,
    changed: whatif.Changed | None = None,
) -> bytes:
    """A text model's forward answer as JSON: the pass kept under `key` (made by `capture` the first time), the
    `selected` steps of it, the next-token distribution for the request's settings (kept too), and the answer's
    other `fields`.

    `previous` is the text so far (for the repetition penalty); `exclude` lists tokens that may never come next.
    A family that keeps its steps serialised whole (`steps` among the kept pass's parts) selects none."""
    kept = passes.get(key, capture)
    parts = dict(kept.parts)
    extra: dict[str, object] = {}
    if selected is not None:
        parts["steps"] = selected.json(passes, key, kept.cache)
        extra["shapes"] = shapes(kept.cache)
    placeholders: dict[str, object] = {name: [] for name in parts}  # steps, lens…: spliced in below
    result = schema.model_validate({**fields, **placeholders, **extra, "output": _PLACEHOLDER})
    penalised = frozenset(previous) if request.repetition_penalty is not None else frozenset()
    settings = (request.temperature, request.top_k, request.top_p, request.repetition_penalty, penalised)

    # Kept too: a slider has a hundred positions and a class drags the same ones. `previous` counts only through the
    # repetition penalty, so only then is it part of the key.
    def output_of(pass_key: Hashable, logits: torch.Tensor) -> bytes:
        def distribution() -> bytes:
            dist = next_token_distribution(
                logits, request.temperature, request.top_k, request.top_p, request.repetition_penalty, previous, exclude
            )
            return output(dist, vocab).model_dump_json().encode()

        return passes.body(("next token", pass_key, settings), distribution)

    spliced_parts = {**parts, "output": output_of(key, kept.logits)}
    if changed is not None:  # what if: the changed pass's steps and output, and what moved
        moved_key = changed.key

        def changed_steps(after: KeptPass, unmoved: frozenset[str]) -> bytes:
            if selected is None:
                return after.parts["steps"]
            return selected.json(passes, moved_key, after.cache, same=(key, unmoved))  # unmoved: the kept JSON

        spliced_parts["what_if"] = whatif.part(
            passes, changed, kept, request, steps=changed_steps, output=lambda after: output_of(moved_key, after.logits)
        )
    return spliced(result, spliced_parts)


class TextPresenter(Presenter[T]):
    """A family of models that read words and predict the next one: they generate text."""

    detail_schema: ClassVar[type[schemas.ModelDetail]] = TextDetail
    generate_schema = schemas.GenerateResult

    def max_tokens(self, model: T) -> int | None:
        """How many tokens an input may have; None: any number (only max_chars bounds the text)."""
        return None

    def new_tokens(self, model: T) -> int:
        """The most tokens one generation adds: a character model writes a speech, a word model a sentence."""
        characters = all(len(token) == 1 for token in model.tokenizer.vocab)
        return schemas.MAX_NEW_CHARS if characters else schemas.MAX_NEW_TOKENS

    def detail_fields(self, model: T) -> dict[str, object]:
        vocab = model.tokenizer.vocab
        return {"vocab": vocab, "limits": limits(len(vocab), self.max_tokens(model), room=self.new_tokens(model))}

    def generate(self, model: T, request: schemas.GenerateRequest) -> schemas.GenerateResult:
        tokenizer = model.tokenizer
        most = self.new_tokens(model)
        if request.max_new_tokens > most:
            problem = f"{request.max_new_tokens} is more than '{model.id}' adds in one generation"
            raise InputError("max_new_tokens", problem, f"Send at most {most}.")
        prompt = parse_text(model.id, tokenizer, request.prompt, "prompt")
        check_top_k(request.top_k, len(tokenizer.vocab))
        seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
        changed = self.changed(model, request, PassCache(0), prompt)  # checked against the prompt's pass

        def generated() -> schemas.Generated:
            result = run_generation(
                model.next_logits, prompt, eos_id=model.eos_id, max_new_tokens=request.max_new_tokens, seed=seed,
                temperature=request.temperature, top_k=request.top_k, top_p=request.top_p,
                repetition_penalty=request.repetition_penalty, reads=model.reads,
            )  # fmt: skip
            vocab = tokenizer.vocab
            return schemas.Generated(
                text=tokenizer.text(prompt + result.ids),
                steps=[
                    schemas.GeneratedToken(
                        token=vocab[s.id], id=s.id, prob=s.prob, top=[(vocab[i], p) for i, p in s.top]
                    )
                    for s in result.steps
                ],
                stop_reason=result.stop_reason,
                loop=None if result.loop is None else (vocab[result.loop[0]], vocab[result.loop[1]]),
            )

        unchanged = generated()
        what_if = None
        if changed is not None:  # the same seed, the same draws, with the changes made to every pass
            with editing(model.module, changed.edits):
                what_if = schemas.ChangedGeneration(interventions=request.interventions, **dict(generated()))
        return schemas.GenerateResult(
            **answering(model),
            prompt_tokens=tokenizer.decode(prompt),
            **dict(unchanged),
            seed=seed,
            what_if=what_if,
        )

    def changed(
        self, model: T, request: schemas.Interventions, passes: PassCache, ids: list[int]
    ) -> whatif.Changed | None:
        """The changed pass over `ids` (a family that generates implements it; None: no interventions)."""
        whatif.unchanged(request, f"a {self.family} model's generation")
        return None
