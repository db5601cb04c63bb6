"""The GPT family in the API: every stage of the forward pass, the logit lens, the next-token distribution.

Activations go out rounded to 4 decimal places (a 16-token input stays well under 300 KB); masked attention
scores (a later word, above the diagonal) are null.
"""

from __future__ import annotations

from functools import cache

import torch
from pydantic import TypeAdapter

from app import schemas
from app.errors import InputError
from app.families import text
from app.families.steps import STEPS, Label, Layout, layout, steps_from_cache
from app.walks import Walk, Walks
from models.registry import LoadedGPT

DECIMALS = 4
LENS_TOP = 3

TITLES: dict[str, tuple[str, str | None]] = {
    "hook_embed": ("Token embeddings", "E[token]: one learned row per token"),
    "hook_pos_embed": ("Positional encoding", "PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(…)"),
    "hook_resid_pre": (
        "Residual stream in",
        "x = token embedding + positional encoding (block 0), or the last block's output",
    ),
    "ln1.hook_normalized": ("Layer norm 1", "(x − mean) / std · γ + β, per position"),
    "attn.hook_q": ("Queries Q", "Q = LN(x)·W_Q + b_Q, split into heads"),
    "attn.hook_k": ("Keys K", "K = LN(x)·W_K + b_K, split into heads"),
    "attn.hook_v": ("Values V", "V = LN(x)·W_V + b_V, split into heads"),
    "attn.hook_scores_raw": ("Raw scores", "q·kᵀ for every query and key position"),
    "attn.hook_scores": ("Scaled, masked scores", "q·kᵀ / √d_head; a later word is masked (null): it may not be seen"),
    "attn.hook_pattern": ("Attention pattern", "softmax of each row: how much each word attends to each earlier one"),
    "attn.hook_z": ("Weighted values", "pattern · V, per head"),
    "hook_attn_out": ("Attention output", "heads concatenated, then ·W_O + b_O"),
    "hook_resid_mid": ("Residual stream after attention", "x + attention output"),
    "ln2.hook_normalized": ("Layer norm 2", "(x − mean) / std · γ + β, per position"),
    "mlp.hook_pre": ("Feed-forward: expand", "LN(x)·W_in + b_in, d_model → d_mlp"),
    "mlp.hook_post": ("Feed-forward: GELU", "GELU of the expanded values"),
    "hook_mlp_out": ("Feed-forward: compress", "GELU(…)·W_out + b_out, d_mlp → d_model"),
    "hook_resid_post": ("Residual stream out", "x + feed-forward output"),
    "ln_final.hook_normalized": ("Final layer norm", "(x − mean) / std · γ + β"),
    "hook_logits": ("Logits", "LN(x)·W_U + b_U: one score per vocabulary word, at every position"),
}


def _label(name: str) -> Label:
    block, _, rest = name.partition(".") if name.startswith("blocks.") else ("", "", name)
    if block:
        index, _, rest = rest.partition(".")
        title, formula = TITLES[rest]
        return f"Block {index} · {title}", formula, None
    title, formula = TITLES[name]
    return title, formula, None


def rounded(value: torch.Tensor) -> list[object]:
    """To DECIMALS places, in float64 so each number prints short; -inf (masked) becomes null."""
    rounded = torch.round(value.double() * 10**DECIMALS) / 10**DECIMALS
    if not torch.isinf(rounded).any():
        return rounded.tolist()  # type: ignore[no-any-return]

    def nulls(x: object) -> object:
        if isinstance(x, list):
            return [nulls(v) for v in x]
        return None if x == float("-inf") else x

    return nulls(rounded.tolist())  # type: ignore[return-value]


def lens(model: LoadedGPT, cache: dict[str, torch.Tensor]) -> list[schemas.LensLayer]:
    """Each layer's residual stream read through the final layer norm and the unembedding: what it would predict."""
    vocab, module = model.tokenizer.vocab, model.module
    hooks = ["blocks.0.hook_resid_pre"] + [f"blocks.{i}.hook_resid_post" for i in range(module.config.n_layers)]
    layers = []
    with torch.no_grad():
        for i, hook in enumerate(hooks):
            probs = torch.softmax(module.unembed(module.ln_final.ln(cache[hook])), dim=-1)  # [pos, vocab]
            top = torch.topk(probs, LENS_TOP, dim=-1)
            rows = [
                [(vocab[int(t)], round(float(p), DECIMALS)) for t, p in zip(ids, ps, strict=True)]
                for ids, ps in zip(top.indices, top.values, strict=True)
            ]
            layers.append(schemas.LensLayer(layer="embeddings" if i == 0 else f"block {i - 1}", hook=hook, top=rows))
    return layers


LENS = TypeAdapter(list[schemas.LensLayer])


@cache
def _layout(model: LoadedGPT) -> list[Layout]:
    return layout(model.module, _label)


def walk(model: LoadedGPT, ids: list[int]) -> Walk:
    logits, cache_ = model.run_with_cache(ids)
    steps = steps_from_cache(_layout(model), cache_, rounded)
    return Walk({"steps": STEPS.dump_json(steps), "lens": LENS.dump_json(lens(model, cache_))}, logits[-1])


def forward(model: LoadedGPT, request: schemas.ForwardRequest, walks: Walks) -> bytes:
    text.no_target(request, "gpt")
    ids = text.parse_text(model, request.input, "input")
    n_ctx = model.module.config.n_ctx
    if len(ids) > n_ctx:
        raise InputError("input", f"the text is {len(ids)} tokens long", f"The context holds {n_ctx}; send fewer.")
    text.check_top_k(model, request.top_k)
    return text.respond(
        walks, (model.id, tuple(ids)), lambda: walk(model, ids), request, model.tokenizer.vocab, ids,
        model=model.id, input=request.input, tokens=model.tokenizer.decode(ids), ids=ids,
    )  # fmt: skip
