"""The walk through a transformer's forward pass, built from the model's own hook names: one stage per step, each
with the values it is computed from (its inputs), the operation, and its result. The page draws a stage as one
panel (inputs | operation → result) and the architecture map from the stages' groups.

A block's stages are written once, with `{b}` for the block's hook prefix (`blocks.0.`, `decoder.blocks.1.`), and
repeated for every block the model has: the walk covers every layer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, Field

Axis = Literal["index", "tokens", "target", "vocab"]


class Panel(BaseModel):
    """One value a stage shows: a hook's values as a matrix, with what its axes count."""

    hook: str = Field(description="The hook name")
    rows: Axis = Field(
        default="tokens",
        description="What the rows count: the input's tokens, the target's (the translator's French), or an index",
    )
    columns: Axis = Field(
        default="index",
        description="What the last axis counts: a vector's index, the tokens or target (key positions), the vocabulary",
    )
    x_title: str = Field(default="", description="The column axis's title, e.g. 'key position' or 'd_head'")
    y_title: str = Field(default="position", description="The row axis's title, e.g. 'query position'")
    per_head: bool = Field(default=False, description="The values have a head axis first: one head is shown")
    concat_heads: bool = Field(default=False, description="Shown with its heads side by side, as W_O reads them")
    probabilities: bool = Field(default=False, description="The values are probabilities (0 to 1), not signed")
    role: str = Field(default="", description="What it is in the stage's formula: 'Q', 'Kᵀ', 'x', …")


class Stage(BaseModel):
    """One stage of the walk: its inputs, the operation, its result."""

    label: str = Field(description="Its name on the map, and its key in static/captions/<family>.json")
    group: str = Field(description="Where it is in the network: 'input', 'block 0', 'decoder · block 1', 'output'")
    inputs: list[Panel] = Field(default_factory=list, description="The values it is computed from")
    op: str = Field(default="", description="The operation between its inputs and its result")
    hooks: list[Panel] = Field(default_factory=list, description="Its result (a feed-forward shows three)")
    view: Literal["matrix", "heads", "next"] = Field(
        default="matrix",
        description="'matrix': inputs | op → result; 'heads': every head's pattern and the head view; 'next': the "
        "last position's logits → softmax(logits / T)",
    )


def panel(hook: str, **kwargs: object) -> Panel:
    return Panel.model_validate({"hook": hook, **kwargs})


# What each axis of a transformer value is called (columns of a per-position vector: its width's name).
D_MODEL = {"x_title": "d_model"}
HEAD = {"per_head": True, "x_title": "d_head"}


def square(columns: Axis = "tokens", rows: Axis = "tokens", **kwargs: object) -> dict[str, object]:
    """A [query_pos][key_pos] matrix, one head at a time."""
    titles = {"x_title": "key position", "y_title": "query position"}
    return {"per_head": True, "rows": rows, "columns": columns, **titles, **kwargs}


def blocks(hook_names: Iterable[str], prefix: str = "") -> list[str]:
    """The hook prefixes of the model's blocks, in order: `blocks.0.`, `blocks.1.` (after `prefix`)."""
    found = {int(m.group(1)) for name in hook_names if (m := re.match(re.escape(prefix) + r"blocks\.(\d+)\.", name))}
    return [f"{prefix}blocks.{i}." for i in sorted(found)]


def expand(template: Sequence[Stage], b: str, group: str) -> list[Stage]:
    """The template's stages for one block: `{b}` becomes the block's prefix, `{prev}` its input's hook."""
    text = "".join(s.model_dump_json() + "\n" for s in template).replace("{b}", b).replace("{group}", group)
    return [Stage.model_validate_json(line) for line in text.splitlines()]


def attention(
    rows: Axis = "tokens",
    keys: Axis | None = None,
    *,
    name: str = "",
    attn: str = "attn",
    ln: str | None = "ln1",
    before: str = "{b}hook_resid_pre",
    out: str = "{b}hook_attn_out",
    memory: str | None = None,
    masked: bool = True,
    unmasked: str = "÷ √d_head (nothing is masked)",
) -> list[Stage]:
    """A pre-LN attention sublayer: LN → Q, K, V → q·kᵀ → ÷√d and the mask → softmax → pattern·V → ·W_O.

    `rows` count the queries' positions, `keys` the keys' (the same for self-attention); `memory` is the hook the
    keys and values are read from in cross-attention. `name` starts each label ("cross q·kᵀ"); an attention that is
    not `masked` lets every query see every key (`unmasked` says so). With `ln` None the sublayer is post-LN (BERT):
    Q, K and V read the residual stream `before` itself, and no layer norm comes first.
    """
    keys = keys or rows
    x, kx = {"rows": rows}, {"rows": keys}
    a = f"{{b}}{attn}."
    pattern = panel(f"{a}hook_pattern", role="pattern", **square(keys, rows, probabilities=True))
    if ln is None:
        sources = [panel(before, role="x", **x, **D_MODEL)]
    else:
        sources = [panel(f"{{b}}{ln}.hook_normalized", role="LN(x)", **x, **D_MODEL)]
    if memory:
        sources.append(panel(memory, role="encoder output", **kx, **D_MODEL))
    first = [] if ln is None else [layer_norm(f"{name}layer norm", before, f"{{b}}{ln}.", rows)]
    return [
        *first,
        Stage(
            label=f"{name}Q, K, V",
            group="{group}",
            inputs=sources,
            op="· W_Q, · W_K, · W_V (+ b), split into heads",
            hooks=[
                panel(f"{a}hook_q", role="Q", **x, **HEAD),
                panel(f"{a}hook_k", role="K", **kx, **HEAD),
                panel(f"{a}hook_v", role="V", **kx, **HEAD),
            ],
        ),
        Stage(
            label=f"{name}q·kᵀ",
            group="{group}",
            inputs=[panel(f"{a}hook_q", role="Q", **x, **HEAD), panel(f"{a}hook_k", role="K", **kx, **HEAD)],
            op="Q · Kᵀ",
            hooks=[panel(f"{a}hook_scores_raw", role="raw scores", **square(keys, rows))],
        ),
        Stage(
            label=f"{name}÷√d, mask" if masked else f"{name}÷√d",
            group="{group}",
            inputs=[panel(f"{a}hook_scores_raw", role="raw scores", **square(keys, rows))],
            op="÷ √d_head, then the mask" if masked else unmasked,
            hooks=[panel(f"{a}hook_scores", role="scores", **square(keys, rows))],
        ),
        Stage(
            label=f"{name}softmax",
            group="{group}",
            inputs=[panel(f"{a}hook_scores", role="scores", **square(keys, rows))],
            op="softmax of each row",
            hooks=[pattern],
        ),
        Stage(label=f"{name}every head", group="{group}", view="heads", hooks=[pattern]),
        Stage(
            label=f"{name}heads",
            group="{group}",
            inputs=[pattern, panel(f"{a}hook_v", role="V", **kx, **HEAD)],
            op="pattern · V",
            hooks=[panel(f"{a}hook_z", role="z", **x, **HEAD)],
        ),
        Stage(
            label=f"{name}attention out",
            group="{group}",
            inputs=[panel(f"{a}hook_z", role="z, heads side by side", **x, concat_heads=True, x_title="head × d_head")],
            op="· W_O + b_O",
            hooks=[panel(out, role="attention out", **x, **D_MODEL)],
        ),
    ]


def residual(label: str, before: str, added: str, after: str, rows: Axis, added_role: str) -> Stage:
    """x + what a sublayer computed → the residual stream after it: all three side by side."""
    x = {"rows": rows, **D_MODEL}
    return Stage(
        label=label,
        group="{group}",
        inputs=[panel(before, role="x", **x), panel(added, role=added_role, **x)],
        op="+",
        hooks=[panel(after, role="x′", **x)],
    )


def layer_norm(label: str, before: str, ln: str, rows: Axis, group: str = "{group}") -> Stage:
    """x → LN(x), with each position's mean μ and standard deviation σ."""
    x = {"rows": rows}
    return Stage(
        label=label,
        group=group,
        inputs=[panel(before, role="x", **x, **D_MODEL)],
        op="(x − μ) / σ · γ + β",
        hooks=[
            panel(f"{ln}hook_mean", role="μ", **x, x_title=""),
            panel(f"{ln}hook_std", role="σ", **x, x_title=""),
            panel(f"{ln}hook_normalized", role="LN(x)", **x, **D_MODEL),
        ],
    )


def feed_forward(rows: Axis, before: str, after: str) -> list[Stage]:
    """LN → expand → GELU → compress, one stage each (a 4× wide matrix needs the screen's width), then the
    residual add."""
    return [
        layer_norm("layer norm 2", before, "{b}ln2.", rows),
        *_expand_compress(rows, "{b}ln2.hook_normalized"),
        residual("residual out", before, "{b}hook_mlp_out", after, rows, "feed-forward out"),
    ]


def post_ln_feed_forward(rows: Axis, ln_in: str, after: str, ln_out: str) -> list[Stage]:
    """Post-LN (BERT): expand → GELU → compress read the layer norm `ln_in` that followed attention's add; then
    the residual add onto that same LN(x), and the layer norm `ln_out` after it (the block's output)."""
    normalized = f"{ln_in}hook_normalized"
    return [
        *_expand_compress(rows, normalized),
        residual("residual out", normalized, "{b}hook_mlp_out", after, rows, "feed-forward out"),
        layer_norm("layer norm 2", after, ln_out, rows),
    ]


def _expand_compress(rows: Axis, normalized_hook: str) -> list[Stage]:
    x = {"rows": rows}
    normalized = panel(normalized_hook, role="LN(x)", **x, **D_MODEL)
    expanded = panel("{b}mlp.hook_pre", role="expanded", **x, x_title="d_mlp")
    activated = panel("{b}mlp.hook_post", role="GELU", **x, x_title="d_mlp")
    compressed = panel("{b}hook_mlp_out", role="compressed", **x, **D_MODEL)
    return [
        Stage(label="expand", group="{group}", inputs=[normalized], op="· W_in + b_in (4× wider)", hooks=[expanded]),
        Stage(label="GELU", group="{group}", inputs=[expanded], op="GELU, each value", hooks=[activated]),
        Stage(label="compress", group="{group}", inputs=[activated], op="· W_out + b_out", hooks=[compressed]),
    ]


def embeddings(prefix: str, first_block: str, rows: Axis, group: str) -> list[Stage]:
    """Tokens → their rows of E, the positional encoding, and their sum."""
    x = {"rows": rows, **D_MODEL}
    return [
        Stage(label="embeddings", group=group, op="E[token]", hooks=[panel(f"{prefix}hook_embed", role="E", **x)]),
        Stage(
            label="positions",
            group=group,
            op="sin / cos of the position",
            hooks=[panel(f"{prefix}hook_pos_embed", role="PE", **x)],
        ),
        Stage(
            label="sum",
            group=group,
            inputs=[panel(f"{prefix}hook_embed", role="E", **x), panel(f"{prefix}hook_pos_embed", role="PE", **x)],
            op="+",
            hooks=[panel(f"{first_block}hook_resid_pre", role="x", **x)],
        ),
    ]


NEXT_WORD = "softmax(logits / T), then top-k, top-p"


def output(prefix: str, last_block: str, rows: Axis, group: str, word: str) -> list[Stage]:
    """The last block's residual → the final layer norm → logits over the vocabulary (`word` names its columns) →
    the next word, softmax(logits / T) cut by top-k and top-p."""
    logits = panel(f"{prefix}hook_logits", role="logits", rows=rows, columns="vocab", x_title=word)
    return [
        layer_norm("final layer norm", f"{last_block}hook_resid_post", f"{prefix}ln_final.", rows, group),
        Stage(
            label="logits",
            group=group,
            inputs=[panel(f"{prefix}ln_final.hook_normalized", role="LN(x)", rows=rows, **D_MODEL)],
            op="· W_U + b_U",
            hooks=[logits],
        ),
        Stage(label="next word", group=group, view="next", inputs=[logits], op=NEXT_WORD),
    ]


def stack(template: Sequence[Stage], prefixes: Sequence[str], group: str) -> list[Stage]:
    """The block's stages for every block in order; `group` names each, with `{i}` for the block's number."""
    return [stage for i, prefix in enumerate(prefixes) for stage in expand(template, prefix, group.format(i=i))]


def checked(walk: list[Stage], hook_names: Iterable[str]) -> list[Stage]:
    """The walk, once every hook it shows is one the model has (a renamed hook fails here, not in a page)."""
    missing = hooks_of(walk) - set(hook_names)
    assert not missing, f"the walk names hooks the model does not have: {sorted(missing)}"
    return walk


def hooks_of(stages: Iterable[Stage]) -> set[str]:
    """Every hook the stages show."""
    return {p.hook for s in stages for p in (*s.inputs, *s.hooks)}
