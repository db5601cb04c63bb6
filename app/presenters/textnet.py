"""The text-net family in the API: its detail (vocabulary and embedding table) and its forward pass: one token in,
a distribution out. Every number is the float32 value the model computed, unrounded."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any
from weakref import WeakKeyDictionary

from pydantic import Field

from app import schemas
from app.passes import KeptPass, PassCache
from app.presenters import text, whatif
from app.presenters.base import Label, Layout, answering, layout
from app.presenters.labels import relu_layer_label
from models.explain import Captured, NextToken
from models.families.textnet import LoadedTextNet
from models.training.textnet import predictions


class TextNetTraining(schemas.Training):
    seed_search: dict[str, Any] = Field(description="Seeds tried, and why this one was kept")
    predictions: list[dict[str, Any]] = Field(description="Each training pair's prediction")
    greedy_chains: list[dict[str, Any]] = Field(description="The greedy chain from every word")


class TextNetDetail(text.TextDetail):
    training: TextNetTraining
    embedding: list[list[float]] = Field(description="The table, [vocab][d_embed]")
    predictions: list[dict[str, Any]] = Field(
        description="Each training pair's prediction by these weights (at a checkpoint: that checkpoint's)"
    )


class TextNetForward(schemas.ForwardResult):
    tokens: list[str] = Field(description="The input's tokens; the net reads the last one")
    output: text.TextOutput


class TextNetPresenter(text.TextPresenter[LoadedTextNet]):
    family = "textnet"
    loaded = LoadedTextNet
    detail_schema = TextNetDetail
    forward_schema = TextNetForward

    def __init__(self) -> None:
        super().__init__()
        self._word_layouts: WeakKeyDictionary[LoadedTextNet, dict[int, list[Layout]]] = WeakKeyDictionary()

    def label(self, model: LoadedTextNet, name: str, token: int = 0) -> Label:
        word = model.tokenizer.vocab[token]
        if name == model.name_of(model.module.hook_embed):
            formula = f"e = E['{word}'], row {token} of the table"
            return Label(f"Embedding vector for '{word}'", formula, table=model.module.embed)
        if name == model.name_of(model.module.hook_logits):
            k = model.module.config.n_layers
            return Label("OUTPUT LAYER (logits)", f"logits = W_out·a{k} + b_out", model.module.unembed)
        return relu_layer_label(model.module, name, "e", None)

    def word_layout(self, model: LoadedTextNet, token: int) -> list[Layout]:
        """The steps' labels name the word read, so they are kept per word."""
        words = self._word_layouts.setdefault(model, {})
        if token not in words:
            words[token] = layout(model.module, model.hook_names(), lambda name: self.label(model, name, token))
        return words[token]

    def detail_fields(self, model: LoadedTextNet) -> dict[str, object]:
        return {**super().detail_fields(model), "embedding": model.embedding, "predictions": predictions(model.module)}

    def capture(self, model: LoadedTextNet, token: int) -> KeptPass:
        """The pass over one token: the net reads only the last token of its input."""
        logits, cache = model.run_with_cache([token])
        return KeptPass({}, logits, cache)

    def captured(
        self, model: LoadedTextNet, request: schemas.ExplainRequest, passes: PassCache
    ) -> tuple[Captured, NextToken]:
        text.no_target(request, self.family)
        ids = text.parse_text(model.id, model.tokenizer, request.input, "input")
        text.check_top_k(request.top_k, len(model.tokenizer.vocab))
        last = ids[-1]
        kept = passes.get((model.key, last), lambda: self.capture(model, last))  # the key /forward keeps it by
        return model.captured(last, dict(kept.cache), kept.logits), text.next_token(request, ids)

    def forward(self, model: LoadedTextNet, request: schemas.ForwardRequest, passes: PassCache) -> bytes:
        text.no_target(request, self.family)
        tokenizer = model.tokenizer
        ids = text.parse_text(model.id, tokenizer, request.input, "input")
        text.check_top_k(request.top_k, len(tokenizer.vocab))
        last = ids[-1]
        return text.respond(
            passes, schema=TextNetForward, key=(model.key, last), capture=lambda: self.capture(model, last),
            request=request, vocab=tokenizer.vocab, previous=ids,
            fields={**answering(model), "input": request.input,
                    "tokens": tokenizer.decode(ids)},
            selected=self.selected(model, request, layout=self.word_layout(model, last)),
            changed=self.changed(model, request, passes, ids),
        )  # fmt: skip

    def changed(
        self, model: LoadedTextNet, request: schemas.Interventions, passes: PassCache, ids: list[int]
    ) -> whatif.Changed | None:
        """The changed pass over the last word of `ids`; a patch's second input is another text (its last word)."""

        def source(other: float | str, field: str) -> tuple[Hashable, Callable[[], KeptPass]]:
            theirs = text.parse_text(model.id, model.tokenizer, other, field)[-1]
            return (model.key, theirs), lambda: self.capture(model, theirs)

        last = ids[-1]
        key, capture = (model.key, last), lambda: self.capture(model, last)
        return whatif.changed_pass(model.module, request, passes, key, capture, source, params=model.params)


PRESENTER = TextNetPresenter()
