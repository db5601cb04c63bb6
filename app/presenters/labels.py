"""Titles and formulas of the parts several families share: the ReLU layers of the MLP and the text net, and the
transformer's parts (models/parts.py) that the GPT and the translator are built from."""

from __future__ import annotations

from torch import nn

from app.presenters.base import Label
from models.mlp import Affine, ReLULayer

# A transformer hook's title and formula, by its name within a block (or the model, for those outside blocks).
TRANSFORMER: dict[str, tuple[str, str]] = {
    "hook_embed": ("Token embeddings", "E[token]: one learned row per token"),
    "hook_pos_embed": ("Positional encoding", "PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(…)"),
    "hook_resid_pre": (
        "Residual stream in",
        "x = token embedding + positional encoding (block 0), or the last block's output",
    ),
    "ln1.hook_mean": ("Layer norm 1: mean μ", "μ = Σ x / d_model, per position"),
    "ln1.hook_std": ("Layer norm 1: standard deviation σ", "σ = √(Σ (x − μ)² / d_model + ε), per position"),
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
    "ln2.hook_mean": ("Layer norm 2: mean μ", "μ = Σ x / d_model, per position"),
    "ln2.hook_std": ("Layer norm 2: standard deviation σ", "σ = √(Σ (x − μ)² / d_model + ε), per position"),
    "ln2.hook_normalized": ("Layer norm 2", "(x − mean) / std · γ + β, per position"),
    "mlp.hook_pre": ("Feed-forward: expand", "LN(x)·W_in + b_in, d_model → d_mlp"),
    "mlp.hook_post": ("Feed-forward: GELU", "GELU of the expanded values"),
    "hook_mlp_out": ("Feed-forward: compress", "GELU(…)·W_out + b_out, d_mlp → d_model"),
    "hook_resid_post": ("Residual stream out", "x + feed-forward output"),
    "ln_final.hook_mean": ("Final layer norm: mean μ", "μ = Σ x / d_model, per position"),
    "ln_final.hook_std": ("Final layer norm: standard deviation σ", "σ = √(Σ (x − μ)² / d_model + ε), per position"),
    "ln_final.hook_normalized": ("Final layer norm", "(x − mean) / std · γ + β"),
    "hook_logits": ("Logits", "LN(x)·W_U + b_U: one score per vocabulary word, at every position"),
}
GELU = "mlp.hook_post"  # the one transformer step that applies an activation


def transformer_label(name: str, titles: dict[str, tuple[str, str]] = TRANSFORMER) -> Label:
    """`Block 1 · Queries Q` for blocks.1.attn.hook_q; the plain title for a hook outside the blocks."""
    block, _, rest = name.partition(".") if name.startswith("blocks.") else ("", "", name)
    if not block:
        return Label(*titles[name])
    index, _, rest = rest.partition(".")
    title, formula = titles[rest]
    return Label(f"Block {index} · {title}", formula, activation="GELU" if rest == GELU else None)


def relu_layer_label(module: nn.Module, name: str, source: str, last: str | None) -> Label:
    """The article's labels for `layers.{i}.hook_z|a`: LAYER 1 (z1), LAYER 1 (a1 = ReLU(z1)), ...

    `source` names the first layer's input; `last`, when given, titles the last layer's z (the MLP's output).
    """
    parent_name, _, hook = name.rpartition(".")
    parent = module.get_submodule(parent_name)
    index = int(parent_name.rsplit(".", 1)[1])  # 0-based in the hook name, 1-based in the labels
    k, a_in = index + 1, source if index == 0 else f"a{index}"
    linear = parent.linear if hook == "hook_z" and isinstance(parent, Affine) else None
    if hook == "hook_a":
        return Label(f"LAYER {k} (a{k} = ReLU(z{k}))", f"a{k} = max(0, z{k})", activation="ReLU")
    if last is not None and not isinstance(parent, ReLULayer):
        return Label(last, f"y = W{k}·{a_in} + b{k}", linear)
    return Label(f"LAYER {k} (z{k})", f"z{k} = W{k}·{a_in} + b{k}", linear)
