"""The API contract in code: request and response models (see docs/api.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

Family = Literal["mlp", "textnet", "gpt", "seq2seq"]
FAMILY_ORDER: list[str] = ["mlp", "textnet", "gpt", "seq2seq"]  # the teaching path, neuron to transformer
TEMPERATURE_CAP = 10.0
TEMPERATURE_MIN = 1e-4  # below this (but above 0), logits / T can overflow a float; 0 is the argmax itself
PENALTY_CAP = 10.0
MAX_TEXT_CHARS = 400  # a full GPT context (24 words) fits; a megabyte string does not
MAX_NEW_TOKENS = 20


def _whole(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


# Integers as JSON Schema counts them: 3 or 3.0 (what some JSON encoders write); 3.5, "3" and true stay errors.
# It follows the constraints, so they still reach the OpenAPI document as minimum and maximum.
WHOLE = BeforeValidator(_whole)


class ModelSummary(BaseModel):
    id: str
    family: Family
    title: str
    description: str
    n_params: int


class Training(BaseModel):
    """How the shipped weights were made, from the model's record."""

    seed: int
    init: str | None = None
    optimizer: dict[str, Any]
    loss: str
    epochs: int
    loss_curve: list[tuple[int, float]] = Field(description="[epoch, loss] pairs, about 100 of them")
    metrics: dict[str, float]
    data: dict[str, Any] = Field(description="What the net was trained on (samples, or pairs and vocabulary)")
    seed_search: dict[str, Any] | None = Field(default=None, description="Seeds tried, and why this one was kept")
    predictions: list[dict[str, Any]] | None = Field(default=None, description="Text nets: each pair's prediction")
    greedy_chains: list[dict[str, Any]] | None = Field(default=None, description="Text nets: greedy chain per word")
    trained_at: str
    duration_s: float
    torch_version: str
    command: str


class Region(BaseModel):
    """On [left, right] the net is y = slope·x + intercept; null bounds are unbounded."""

    left: float | None
    right: float | None
    slope: float
    intercept: float
    active: list[list[bool]] = Field(description="[hidden layer][unit]: true where the ReLU is on (z > 0)")


class Unit(BaseModel):
    layer: int = Field(description="0-based hidden layer, as in the hook name layers.{layer}")
    unit: int


class Breakpoint(BaseModel):
    x: float
    switched: list[Unit] = Field(description="The ReLUs that turn on or off at x")
    slope_left: float
    slope_right: float
    kink: bool = Field(description="True where the slope changes at x")


class MLPAnalysis(BaseModel):
    """The net's exact piecewise-linear form over its training domain."""

    domain: tuple[float, float]
    n_regions: int
    breakpoints: list[Breakpoint]
    regions: list[Region]
    curve: list[tuple[float, float]] = Field(
        description="(x, f(x)) computed by the model at the domain ends and every breakpoint; f is linear between"
    )


class ModelDetail(ModelSummary):
    config: dict[str, Any]
    hook_names: list[str]
    training: Training
    analysis: MLPAnalysis | None = None
    vocab: list[str] | None = Field(default=None, description="Text models: the vocabulary, in id order")
    embedding: list[list[float]] | None = Field(default=None, description="Text nets: the table, [vocab][d_embed]")
    target_vocab: list[str] | None = Field(
        default=None, description="seq2seq: the target vocabulary; `vocab` is the source's"
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


class ForwardRequest(Sampling):
    target: str | None = Field(
        default=None,
        description="seq2seq: the decoder's prefix, French words so far (any, even a wrong translation); "
        "null or empty starts from the start token alone",
    )
    input: float | str = Field(
        description=(
            "mlp: the number x (training domain [0, 10]; outside it is served and flagged). "
            f"textnet: a word of the vocabulary; of a longer text (at most {MAX_TEXT_CHARS} characters) the net "
            "reads the last word. gpt: words of the vocabulary, at most its context (n_ctx tokens)"
        ),
        examples=[4.0, "hello"],
    )

    @field_validator("input", mode="before")
    @classmethod
    def _no_booleans(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"got the boolean {str(value).lower()}. Send a number (mlp models) or text (text models)")
        if isinstance(value, int) and abs(value) > 1e308:  # a JSON integer literal too long for a float
            raise ValueError(f"the integer with {len(str(abs(value)))} digits is too large. Send a number such as 4.0")
        return value


class Step(BaseModel):
    """One named value of the forward pass, in order."""

    name: str = Field(description="The hook name, e.g. layers.0.hook_z")
    shape: list[int]
    data: list[Any] = Field(description="Nested lists of numbers, nested as `shape` says; masked scores are null")
    title: str
    formula: str | None = None
    W: list[list[float]] | None = Field(default=None, description="The weights this step used, [d_out][d_in]")
    b: list[float] | None = None


class TextOutput(BaseModel):
    """The next token after the last position."""

    logits: list[float] = Field(description="[vocab], after the repetition penalty if one was given")
    scaled: list[float] | None = Field(description="logits / T, [vocab]; null at T = 0")
    probs: list[float] = Field(description="softmax(logits / T) after top-k and top-p, renormalised; [vocab]")
    kept: list[int] = Field(description="The ids top-k and top-p let through, most probable first")
    prediction: str = Field(description="The argmax token: what greedy decoding picks")
    prediction_id: int
    entropy: float = Field(description="Entropy of `probs`, in bits")


class MLPOutput(BaseModel):
    y: float
    target: float | None = Field(description="sqrt(x), what the net was trained to output; null for x < 0")
    extrapolating: bool = Field(description="True when x is outside the training domain")
    region: Region


class LensLayer(BaseModel):
    """What the residual stream after one layer would predict, read through the final layer norm and unembedding."""

    layer: str = Field(description="'embeddings' (before block 0), then 'block 0', 'block 1', …")
    hook: str = Field(description="The residual-stream hook it reads")
    top: list[list[tuple[str, float]]] = Field(description="[pos][rank]: the top tokens and their probabilities")


class ForwardResult(BaseModel):
    model: str
    input: float | str
    tokens: list[str] | None = Field(default=None, description="Text models: the input's tokens")
    ids: list[int] | None = Field(default=None, description="Text models: the tokens' ids")
    target_tokens: list[str] | None = Field(default=None, description="seq2seq: the decoder's input, <s> first")
    steps: list[Step]
    output: MLPOutput | TextOutput
    lens: list[LensLayer] | None = Field(default=None, description="GPT: the logit lens, one entry per layer")


class GenerateRequest(Sampling):
    prompt: str = Field(description="The start: a word (or words) of the vocabulary", examples=["hello"])
    max_new_tokens: Annotated[int, Field(ge=1, le=MAX_NEW_TOKENS, strict=True), WHOLE] = 10
    seed: Annotated[int, Field(ge=0, le=2**31 - 1, strict=True), WHOLE] | None = Field(
        default=None, description="The same seed gives the same text; null picks one, returned in the result"
    )


class GeneratedToken(BaseModel):
    token: str
    id: int
    prob: float = Field(description="The probability it was drawn with")
    top: list[tuple[str, float]] = Field(description="The most likely candidates at this step")
    cross: list[float] | None = Field(
        default=None, description="seq2seq: the last decoder layer's cross-attention row, averaged over heads"
    )


class GenerateResult(BaseModel):
    model: str
    prompt_tokens: list[str]
    text: str = Field(description="The prompt and the new tokens, joined by spaces")
    steps: list[GeneratedToken]
    stop_reason: Literal["eos", "max_new_tokens", "loop"]
    loop: tuple[str, str] | None = Field(description="The transition that repeated, when stop_reason is loop")
    seed: int


class Health(BaseModel):
    status: Literal["ok"]
    models: int


class FieldError(BaseModel):
    field: str = Field(description="The request field at fault, or 'body' for the body as a whole")
    message: str


class ErrorBody(BaseModel):
    """Every error response: one message that names the problem and the fix."""

    detail: str
    errors: list[FieldError] | None = Field(default=None, description="422 only: one entry per bad field")
