"""The GPT family in the API: every stage of the forward pass, the logit lens, the next-token distribution, and the
comparison of two inputs.

Activations and the lens go out rounded to 4 decimal places (a 16-token input stays well under 300 KB); masked
attention scores (a later word, above the diagonal) are null. The next-token distribution is unrounded.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import torch
from pydantic import BaseModel, Field, TypeAdapter

from app import schemas
from app.errors import InputError
from app.passes import KeptPass, PassCache
from app.presenters import stages, text, whatif
from app.presenters.base import DECIMALS, Label, answering, rounded
from app.presenters.labels import transformer_label
from app.presenters.stages import Stage
from models.explain import Captured, NextToken
from models.families.gpt import LoadedGPT

LENS_TOP = 3


def walk(model: LoadedGPT) -> list[Stage]:
    """Every stage of the forward pass, for every block the model has, from its hook names."""
    names = model.hook_names()
    prefixes = stages.blocks(names)
    block = [
        *stages.attention(),
        stages.residual("residual", "{b}hook_resid_pre", "{b}hook_attn_out", "{b}hook_resid_mid", "tokens",
                        "attention out"),
        *stages.feed_forward("tokens", "{b}hook_resid_mid", "{b}hook_resid_post"),
    ]  # fmt: skip
    walk = [
        *stages.embeddings("", prefixes[0], "tokens", "input"),
        *stages.stack(block, prefixes, "block {i}"),
        *stages.output("", prefixes[-1], "tokens", "output", "vocabulary word"),
    ]
    return stages.checked(walk, names)


MAX_TOKENS = 128  # what a page reads of a longer context: 128 tokens of 12 heads still fit a screen and 300 KB


class GPTDetail(text.TextDetail):
    stages: list[Stage] = Field(description="The page's walk, every block: each stage's inputs, operation and result")


class LensLayer(BaseModel):
    """What the residual stream after one layer would predict, read through the final layer norm and unembedding."""

    layer: str = Field(description="'embeddings' (before block 0), then 'block 0', 'block 1', …")
    hook: str = Field(description="The residual-stream hook it reads")
    top: list[list[tuple[str, float]]] = Field(description="[pos][rank]: the top tokens and their probabilities")


class GPTForward(schemas.ForwardResult):
    tokens: list[str] = Field(description="The input's tokens")
    ids: list[int] = Field(description="The tokens' ids")
    output: text.TextOutput
    lens: list[LensLayer] = Field(description="The logit lens, one entry per layer")


class Residual(BaseModel):
    layer: str = Field(description="'embeddings' (before block 0), then 'block 0', 'block 1', …")
    hook: str


class Comparison(BaseModel):
    """Where two inputs' residual streams part: ‖a − b‖ after each layer, at every position both texts have."""

    model: str
    checkpoint: int | None = Field(default=None, description=schemas.CHECKPOINT_ANSWER)
    tokens: list[str]
    other_tokens: list[str]
    layers: list[Residual] = Field(description="The residual streams compared, in forward order")
    distance: list[list[float]] = Field(description="[layer][pos]: the Euclidean distance, rounded to 4 places")
    first_difference: int | None = Field(
        description="The first position whose tokens differ; null when the shorter text begins the longer"
    )
    prediction: str = Field(description="The argmax next token after the input")
    other_prediction: str = Field(description="The argmax next token after the other text")


LENS = TypeAdapter(list[LensLayer])


class GPTPresenter(text.TextPresenter[LoadedGPT]):
    family = "gpt"
    loaded = LoadedGPT
    detail_schema = GPTDetail
    forward_schema = GPTForward
    compare_schema = Comparison

    def label(self, model: LoadedGPT, name: str) -> Label:
        return transformer_label(name)

    def max_tokens(self, model: LoadedGPT) -> int:
        """The model's context, at most MAX_TOKENS: a GPT-2's 1,024 would capture hundreds of MB per text."""
        return min(model.module.config.n_ctx, MAX_TOKENS)

    def stages(self, model: LoadedGPT) -> list[Stage]:
        return walk(model)

    def detail_fields(self, model: LoadedGPT) -> dict[str, object]:
        return {**super().detail_fields(model), "stages": self.walk(model)}

    def page_context(self, model: LoadedGPT) -> dict[str, object]:
        """The texts the page offers to start from: the record's (a character model's lines of a play), or the
        page's own for the grammar's words."""
        return {"examples": model.record.get("examples", [])}

    def ids(self, model: LoadedGPT, value: float | str, field: str) -> list[int]:
        ids = text.parse_text(model.id, model.tokenizer, value, field)
        most = self.max_tokens(model)
        if len(ids) > most:
            held = "The context holds" if most == model.module.config.n_ctx else "This page reads at most"
            raise InputError(field, f"the text is {len(ids)} tokens long", f"{held} {most}; send fewer.")
        return ids

    def lens(self, model: LoadedGPT, cache: dict[str, torch.Tensor]) -> list[LensLayer]:
        vocab = model.tokenizer.vocab
        return [
            LensLayer(
                layer=layer.layer,
                hook=layer.hook,
                top=[[(vocab[i], round(p, DECIMALS)) for i, p in row] for row in layer.top],
            )
            for layer in model.logit_lens(cache, LENS_TOP)
        ]

    def capture(self, model: LoadedGPT, ids: list[int]) -> KeptPass:
        logits, cache = model.run_with_cache(ids)
        return KeptPass({"lens": LENS.dump_json(self.lens(model, cache))}, logits[-1], cache)

    def forward(self, model: LoadedGPT, request: schemas.ForwardRequest, passes: PassCache) -> bytes:
        text.no_target(request, self.family)
        ids = self.ids(model, request.input, "input")
        tokenizer = model.tokenizer
        text.check_top_k(request.top_k, len(tokenizer.vocab))
        tokens = tokenizer.decode(ids)
        fields = {
            **answering(model),
            "input": request.input,
            "tokens": tokens,
            "ids": ids,
        }
        return text.respond(
            passes, schema=GPTForward, key=(model.key, tuple(ids)), capture=lambda: self.capture(model, ids),
            request=request, vocab=tokenizer.vocab, previous=ids, fields=fields,
            selected=self.selected(model, request, rounded), changed=self.changed(model, request, passes, ids),
        )  # fmt: skip

    def changed(
        self, model: LoadedGPT, request: schemas.Interventions, passes: PassCache, ids: list[int]
    ) -> whatif.Changed | None:
        """The changed pass over `ids`; a patch's second input is another text."""

        def source(other: float | str, field: str) -> tuple[Hashable, Callable[[], KeptPass]]:
            theirs = self.ids(model, other, field)
            return (model.key, tuple(theirs)), lambda: self.capture(model, theirs)

        def lean() -> KeptPass:  # the changed pass: its values and logits (what_if holds no logit lens)
            logits, cache = model.run_with_cache(ids)
            return KeptPass({}, logits[-1], cache)

        key, capture = (model.key, tuple(ids)), lambda: self.capture(model, ids)
        return whatif.changed_pass(model.module, request, passes, key, capture, source, changed_capture=lean)

    def captured(
        self, model: LoadedGPT, request: schemas.ExplainRequest, passes: PassCache
    ) -> tuple[Captured, NextToken]:
        text.no_target(request, self.family)
        ids = self.ids(model, request.input, "input")
        text.check_top_k(request.top_k, len(model.tokenizer.vocab))
        kept = passes.get((model.key, tuple(ids)), lambda: self.capture(model, ids))  # the key /forward keeps it by
        return model.captured(ids, dict(kept.cache), kept.logits), text.next_token(request, ids)

    def compare(self, model: LoadedGPT, request: schemas.CompareRequest) -> Comparison:
        ids, other = self.ids(model, request.input, "input"), self.ids(model, request.other, "other")
        found = model.compare(ids, other)
        vocab = model.tokenizer.vocab
        return Comparison(
            **answering(model),
            tokens=model.tokenizer.decode(ids),
            other_tokens=model.tokenizer.decode(other),
            layers=[Residual(layer=label, hook=hook) for label, hook in found.layers],
            distance=[[round(d, DECIMALS) for d in row] for row in found.distance],
            first_difference=found.first_difference,
            prediction=vocab[found.predictions[0]],
            other_prediction=vocab[found.predictions[1]],
        )


PRESENTER = GPTPresenter()
