"""The API contract in code: what every family shares (see docs/api.md). Each family's own fields are in its
presenter (app/presenters/<family>.py), as subclasses of the results here."""

from __future__ import annotations

import difflib
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

TEMPERATURE_CAP = 10.0
TEMPERATURE_MIN = 1e-4  # below this (but above 0), logits / T can overflow a float; 0 is the argmax itself
PENALTY_CAP = 10.0
MAX_TEXT_CHARS = 400  # a full GPT context (24 words) fits; a megabyte string does not
MAX_NEW_TOKENS = 20  # a word model's generation: a sentence or two
MAX_NEW_CHARS = 400  # a character model's: a speech or two of a play
SEED_MAX = 2**31 - 1
WHOLE_VOCAB = 1024  # a vocabulary this small goes out whole; a larger one (GPT-2's 50,257) only its likeliest
SHOWN_VOCAB = 64  # tokens of a larger vocabulary an answer holds: a chart's bars, a heatmap's columns


def _whole(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


# Integers as JSON Schema counts them: 3 or 3.0 (what some JSON encoders write); 3.5, "3" and true stay errors.
# It follows the constraints, so they still reach the OpenAPI document as minimum and maximum.
WHOLE = BeforeValidator(_whole)


class Provenance(BaseModel):
    """Where a model's weights come from."""

    kind: str = Field(
        description="'generated' (trained here on generated data), 'text' (trained here on real text), 'pretrained' "
        "(trained elsewhere), 'folder' (loaded from a folder the server was given)"
    )
    summary: str = Field(description="The kind in words: 'trained here on generated data', 'pretrained elsewhere', …")
    source: str | None = Field(default=None, description="Weights made elsewhere: the original's name")
    url: str | None = Field(default=None, description="Where the original is published")
    license: str | None = Field(default=None, description="The license the weights are under")
    via: str | None = Field(default=None, description="How the weights reach this server")


class ModelSummary(BaseModel):
    id: str
    family: str = Field(description="The model's family, one of those the server registers (GET /api/models lists)")
    title: str
    description: str
    n_params: int
    provenance: Provenance
    available: Literal[True] = Field(default=True, description="Served: always true here (see UnavailableModel)")


class UnavailableModel(BaseModel):
    """A model the server found but cannot serve (a folder of LAYERWALK_MODEL_DIRS, a package not installed)."""

    id: str
    available: Literal[False] = False
    problem: str = Field(description="What is wrong and the fix: '<folder>: <problem>. Fix: <fix>.'")


class SavedCheckpoint(BaseModel):
    epoch: int
    loss: float | None = Field(description="The training loss the next step measured on these weights; null: the last")


class Trajectory(BaseModel):
    """The weights saved as the model trained (models/training/trajectory.py)."""

    file: str | None = Field(description="Where they are, beside the final weights (models/weights)")
    selection: str = Field(description="How the steps were chosen")
    checkpoints: list[SavedCheckpoint]


class Training(BaseModel):
    """How the shipped weights were made, from the model's record. A family's detail may add fields of its own."""

    seed: int
    init: str | None = None
    optimizer: dict[str, Any]
    loss: str
    epochs: int
    loss_curve: list[tuple[int, float]] = Field(description="[epoch, loss] pairs, about 100 of them")
    metrics: dict[str, float]
    data: dict[str, Any] = Field(description="What the net was trained on (samples, or pairs and vocabulary)")
    trained_at: str
    duration_s: float
    torch_version: str
    command: str
    trajectory: Trajectory | None = Field(default=None, description="The checkpoints saved as it trained")


class FromFolder(BaseModel):
    """The record of a model read from a folder of LAYERWALK_MODEL_DIRS: where it was found, not how it was trained."""

    source: Literal["folder"]
    provenance: dict[str, str] = Field(description="source: the folder's name; via: 'loaded from your folder <path>'")


class ModelDetail(ModelSummary):
    """One model: what every family's detail holds. Each family's detail adds its own fields."""

    input: Literal["number", "text"] = Field(description="What `input` of a forward request is for this model")
    config: dict[str, Any]
    hook_names: list[str]
    attention_patterns: list[str] = Field(
        default=[],
        description="The hooks of `hook_names` that are attention patterns: what a class's attention poll "
        "may ask about",
    )
    training: Training | FromFolder = Field(description="How the weights were made; for a folder's model, where it is")
    checkpoints: list[int] = Field(
        default=[],
        description="The training steps whose weights were saved, from 0 (as initialised) to the last (the final "
        "weights); a forward, generate, explain or compare request's `checkpoint` names one. Empty for a model not "
        "trained here",
    )
    checkpoint: int | None = Field(default=None, description="The step whose weights this detail describes (GET "
                                   "…?checkpoint=N); null: the final weights")  # fmt: skip
    no_trajectory: str | None = Field(default=None, description="Why there are no checkpoints, when there are none")


CHECKPOINT_ANSWER = "The training step whose saved weights answered; null: the final weights"


class AtCheckpoint(BaseModel):
    """A request may ask for the weights saved at a step of training (a model trained here)."""

    checkpoint: Annotated[int, Field(ge=0, strict=True), WHOLE] | None = Field(
        default=None,
        description="A training step whose weights were saved: one of the detail's `checkpoints`. Null (the "
        "default): the final weights",
        examples=[None],
    )


class Sampling(BaseModel):
    """How logits become the next token (text models): penalty → top-k → softmax(logits / T) → top-p."""

    model_config = ConfigDict(extra="forbid")

    temperature: Annotated[float, Field(ge=0, le=TEMPERATURE_CAP, allow_inf_nan=False, strict=True)] = Field(
        default=1.0,
        description=f"0 gives the argmax (the T → 0 limit); otherwise {TEMPERATURE_MIN:g} to {TEMPERATURE_CAP:g}",
    )
    top_k: Annotated[int, Field(ge=1, strict=True), WHOLE] | None = Field(
        default=None, description="Keep the k most likely tokens (1 to the vocabulary size); null keeps all"
    )
    top_p: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False, strict=True)] | None = Field(
        default=None, description="Keep the smallest set of most likely tokens whose probabilities reach p"
    )
    repetition_penalty: Annotated[float, Field(ge=1, le=PENALTY_CAP, allow_inf_nan=False, strict=True)] | None = Field(
        default=None,
        description=(
            f"1 to {PENALTY_CAP:g}: a token already in the text has a positive logit divided by it, a negative one "
            "multiplied"
        ),
    )

    @field_validator("temperature")
    @classmethod
    def _computable(cls, value: float) -> float:
        if 0 < value < TEMPERATURE_MIN:
            raise ValueError(
                f"{value!r} is too small to divide by. Send 0 for the argmax (the limit T → 0), "
                f"or at least {TEMPERATURE_MIN:g}"
            )
        return value


OPS = ("no_causal_mask", "no_scaling", "no_positions", "ablate_head", "set_score", "set_param", "patch")
MAX_INTERVENTIONS = 8
Index = Annotated[int, Field(ge=0, strict=True), WHOLE]


class Intervention(BaseModel):
    """One what-if change to the pass (docs/api.md, What if). Each op reads only its own fields."""

    model_config = ConfigDict(extra="forbid")

    op: str = Field(description=f"One of {', '.join(OPS)}", examples=["no_causal_mask"])
    layer: Index | None = Field(default=None, description="The block: every op on attention")
    head: Index | None = Field(default=None, description="ablate_head, set_score")
    mode: Literal["zero", "mean"] = Field(
        default="zero", description="ablate_head: the head's z becomes 0, or its mean over this input's positions"
    )
    query: Index | None = Field(default=None, description="set_score: the query position")
    key: Index | None = Field(default=None, description="set_score: the key position")
    value: Annotated[float, Field(strict=True)] | None = Field(
        default=None, description="set_score, set_param: the new value (finite, |v| ≤ 10⁴)"
    )
    name: str | None = Field(
        default=None, max_length=200, description="set_param: the parameter, as a step's `parameters` names it"
    )
    index: list[Index] = Field(default=[], max_length=4, description="set_param: [row, column] of W or E, [row] of b")
    hook: str | None = Field(default=None, max_length=200, description="patch: the hook whose value is replaced")
    position: Index | None = Field(default=None, description="patch: the position replaced (none for the MLP)")
    source: float | str | None = Field(
        default=None, description="patch: the second input, whose pass gives the value (for the translator, a source)"
    )
    stack: Literal["encoder", "decoder", "cross"] | None = Field(
        default=None, description="The translator only: which attention (self-attention of a stack, or cross)"
    )

    @field_validator("op")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in OPS:
            near = difflib.get_close_matches(value, OPS, n=1, cutoff=0.5)
            hint = f"Did you mean {near[0]}? " if near else ""
            raise ValueError(f"{value[:40]!r} is not a change layerwalk makes. {hint}Send one of {', '.join(OPS)}")
        return value

    @field_validator("source", mode="before")
    @classmethod
    def _no_booleans(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"got the boolean {str(value).lower()}. Send the other input: a number or text")
        return value


class Interventions(BaseModel):
    """What a forward or generate request may change: at most 8 changes, made together."""

    interventions: list[Intervention] = Field(
        default=[],
        description=f"What if? At most {MAX_INTERVENTIONS} changes to the pass (docs/api.md, What if). The answer "
        "holds the unchanged pass and the changed one (`what_if`)",
        examples=[[{"op": "no_causal_mask", "layer": 0}]],
    )

    @field_validator("interventions", mode="before")
    @classmethod
    def _at_most(cls, value: Any) -> Any:
        if isinstance(value, list) and len(value) > MAX_INTERVENTIONS:
            raise ValueError(f"{len(value)} changes are too many. Send at most {MAX_INTERVENTIONS}")
        return value


class ForwardRequest(Sampling, Interventions, AtCheckpoint):
    hooks: list[str] | Literal["all"] | None = Field(
        default=None,
        description='Which steps to return, by hook name (the detail\'s `hook_names`), or "all". Null (the '
        "default): what the page's first panel needs (a transformer: its walk's first stage; every step of a family "
        "without a walk). The answer's `shapes` lists every hook's shape either way",
        examples=[["blocks.0.attn.hook_q", "blocks.0.attn.hook_k"]],
    )
    heads: tuple[Annotated[int, Field(ge=0, strict=True)], Annotated[int, Field(ge=1, strict=True)]] | None = Field(
        default=None,
        description="[start, stop): of each value with a head axis ([n_heads, pos, …]), only these heads. Null: all",
        examples=[[0, 6]],
    )
    positions: tuple[Annotated[int, Field(ge=0, strict=True)], Annotated[int, Field(ge=1, strict=True)]] | None = Field(
        default=None,
        description="[start, stop): of each value, only these rows of its first position axis ([pos, …], or the "
        "query positions of [n_heads, pos, …]). Null: all. With `heads`, a page cuts a large step into answers "
        "of a few hundred KB",
        examples=[[0, 16]],
    )
    target: str | None = Field(
        default=None,
        description="Models with a decoder (seq2seq): the decoder's prefix, target words so far (any, even a wrong "
        "translation); null or empty starts from the start token alone",
    )
    input: float | str = Field(
        description=(
            "mlp: the number x (training domain [0, 10]; outside it is served and flagged). "
            f"textnet: a word of the vocabulary; of a longer text (at most {MAX_TEXT_CHARS} characters) the net "
            "reads the last word. gpt: words of the vocabulary, at most its context (n_ctx tokens)"
        ),
        examples=[4.0, "hello"],
    )

    @field_validator("hooks", mode="before")
    @classmethod
    def _a_list_or_all(cls, value: Any) -> Any:
        if isinstance(value, str) and value != "all":
            raise ValueError(f'got the text {value[:40]!r}. Send a list of hook names, or "all"')
        return value

    @field_validator("heads", "positions")
    @classmethod
    def _a_range(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and value[0] >= value[1]:
            raise ValueError(f"[{value[0]}, {value[1]}] is empty. Send [start, stop] with start < stop")
        return value

    @field_validator("input", mode="before")
    @classmethod
    def _no_booleans(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"got the boolean {str(value).lower()}. Send a number (mlp models) or text (text models)")
        if isinstance(value, int) and abs(value) > 1e308:  # a JSON integer literal too long for a float
            raise ValueError(f"the integer with {len(str(abs(value)))} digits is too large. Send a number such as 4.0")
        return value


class ExplainRequest(ForwardRequest):
    """A forward request, and the one value to unfold: a hook (or `output.scaled`, `output.probs`) and its index."""

    hook: str = Field(
        description="A hook name of the model's detail (`hook_names`), or, for text models, `output.scaled` or "
        "`output.probs` (the next token after the last position)",
        examples=["blocks.0.attn.hook_scores_raw"],
    )
    index: list[Annotated[int, Field(strict=True), WHOLE]] = Field(
        description="One index per axis of the hook's value, without the batch axis: [head, query, key] for a score",
        examples=[[0, 2, 1]],
    )


class UnfoldedTerm(BaseModel):
    label: str
    value: float
    factors: list[float] = Field(description="The numbers multiplied to make this term, when it is a product")


class Unfolding(BaseModel):
    """How one shown value was computed from the step before, in full precision (float64)."""

    model: str
    checkpoint: int | None = Field(default=None, description=CHECKPOINT_ANSWER)
    hook: str
    index: list[int]
    value: float | None = Field(description="The value the pass computed, unrounded; null where it is masked")
    formula: str
    terms: list[UnfoldedTerm] = Field(
        description="The addends: all of them, or the 8 largest by |value| and one '… n more' line carrying the "
        "others' sum; a bias or ε comes last"
    )
    n_terms: int = Field(description="How many addends the sum has in all")
    sum: float = Field(description="Σ of every addend")
    total: float | None = Field(description="The value recomputed from `sum` by `formula`; null where masked")
    inputs: dict[str, float] = Field(description="The scalars the formula used: μ, σ, T, a row's max, its Σ exp …")
    params: list[str] = Field(description="The model's parameters it read, by their names")
    note: str | None = Field(description="A special case: a masked score and why, a token not kept, a ReLU off")


class Step(BaseModel):
    """One named value of the forward pass, in order."""

    name: str = Field(description="The hook name, e.g. layers.0.hook_z")
    shape: list[int]
    data: list[Any] = Field(description="Nested lists of numbers, nested as `shape` says; masked scores are null")
    title: str
    formula: str | None = None
    activation: Literal["ReLU", "GELU"] | None = Field(
        default=None, description="The function this step applied, element by element, to the step before it"
    )
    W: list[list[float]] | None = Field(default=None, description="The weights this step used, [d_out][d_in]")
    b: list[float] | None = None
    parameters: dict[str, str] | None = Field(
        default=None,
        description="The names of the parameters shown with this step ('W' and 'b', or 'E' for an embedding table), "
        "as POST /api/models/{id}/explain takes them for `hook`; their index is the tensor's own ([d_out, d_in] for W)",
        examples=[{"W": "layers.0.linear.weight", "b": "layers.0.linear.bias"}],
    )
    columns: list[int] | None = Field(
        default=None,
        description=f"The vocabulary ids of the last axis, in this order, when a vocabulary of more than {WHOLE_VOCAB} "
        f"tokens is cut to about {SHOWN_VOCAB} columns: every position's argmax, then the largest logits anywhere. "
        "Null: the whole axis, in id order",
    )


class Moved(BaseModel):
    """A hook whose value the changes moved."""

    hook: str
    max_abs: float | None = Field(
        description="The largest |changed − unchanged| over its entries; null where an entry hidden by the mask "
        "became visible (or the reverse), or the shape changed"
    )


class WhatIf(BaseModel):
    """The changed pass, beside the unchanged one the rest of the answer holds."""

    interventions: list[Intervention] = Field(description="The changes made, as the request sent them")
    steps: list[Step] = Field(description="The same steps as the answer's `steps`, from the changed pass")
    output: Any = Field(description="The changed pass's output, shaped as the answer's `output`")
    moved: list[Moved] = Field(description="Every hook whose value moved, in forward order")
    first_moved: str | None = Field(description="The first hook in forward order whose value moved; null: none")
    analysis: Any = Field(
        default=None,
        description="An MLP whose changes are all set_param: the changed net's exact piecewise form, shaped as the "
        "detail's `analysis` (its kinks, regions, curve and units); null otherwise",
    )


class ForwardResult(BaseModel):
    """What every family's forward answer holds. Each family's answer adds its `output` and fields of its own."""

    model: str
    checkpoint: int | None = Field(default=None, description=CHECKPOINT_ANSWER)
    input: float | str
    steps: list[Step] = Field(description="The steps asked for (`hooks`), in forward order")
    shapes: dict[str, list[int]] = Field(
        default_factory=dict, description="Every hook's shape, asked for or not: hook name → shape"
    )
    what_if: WhatIf | None = Field(
        default=None, description="With `interventions`: the changed pass beside this one (docs/api.md, What if)"
    )


class GenerateRequest(Sampling, Interventions, AtCheckpoint):
    prompt: str = Field(description="The start: a word (or words) of the vocabulary", examples=["hello"])
    max_new_tokens: Annotated[int, Field(ge=1, le=MAX_NEW_CHARS, strict=True), WHOLE] = Field(
        default=10, description="At most the model's `limits.max_new_tokens` (20 words; 400 for a character model)"
    )
    seed: Annotated[int, Field(ge=0, le=SEED_MAX, strict=True), WHOLE] | None = Field(
        default=None, description="The same seed gives the same text; null picks one, returned in the result"
    )


class GeneratedToken(BaseModel):
    token: str
    id: int
    prob: float = Field(description="The probability it was drawn with")
    top: list[tuple[str, float]] = Field(description="The most likely candidates at this step")


class Generated(BaseModel):
    """One generation: its text and each step."""

    text: str = Field(description="The prompt and the new tokens, joined as the tokenizer splits them")
    steps: list[GeneratedToken]
    stop_reason: Literal["eos", "max_new_tokens", "loop"]
    loop: tuple[str, str] | None = Field(description="The transition that repeated, when stop_reason is loop")


class ChangedGeneration(Generated):
    """The same generation (the same seed) with the changes made to every pass."""

    interventions: list[Intervention] = Field(description="The changes made, as the request sent them")


class GenerateResult(Generated):
    model: str
    checkpoint: int | None = Field(default=None, description=CHECKPOINT_ANSWER)
    prompt_tokens: list[str]
    seed: int
    what_if: ChangedGeneration | None = Field(
        default=None, description="With `interventions`: the generation with them (docs/api.md, What if)"
    )


class CompareRequest(AtCheckpoint):
    model_config = ConfigDict(extra="forbid")

    input: str = Field(description="One text", examples=["dog bites man ."])
    other: str = Field(description="The text to compare it with", examples=["man bites dog ."])


class Health(BaseModel):
    status: Literal["ok"]
    models: int


class FieldError(BaseModel):
    field: str = Field(description="The request field at fault, or 'body' for the body as a whole")
    message: str
    unknown: str | None = Field(default=None, description="The word outside the model's vocabulary, when that is it")


class ErrorBody(BaseModel):
    """Every error response: one message that names the problem and the fix."""

    detail: str
    errors: list[FieldError] | None = Field(default=None, description="422 only: one entry per bad field")
