"""What if? Changes to a forward pass, made as functions on its hook points (models/hooks.py: `editing`), never as a
changed copy of the model, so a change lives only as long as the pass it was asked for.

- `no_causal_mask`: a causal self-attention's scores are not masked, so a word sees the words after it too.
- `no_scaling`: scores are not divided by √d_head (recomputed from the raw scores q·kᵀ of the same pass).
- `no_positions`: the positional encoding added to the embeddings is zero.
- `ablate_head`: one head's output z is zero, or its mean over this input's positions ("mean").
- `set_score`: one pre-softmax score (after ÷√d and the mask) of one head takes a value.
- `set_param`: one weight, bias or embedding entry of the MLP or the text net takes a value. z = W·a + b is linear
  in W and b, so the changed layer's output is z + (v − W[r, c])·a[c] (or + v − b[r]), with a the layer's input in
  the same pass; an embedding row is found by its value (a lookup copies the table's row exactly).
- `patch`: one position of one hook takes its value from a second input's pass (activation patching).

`plan` checks each change against the model and the pass it changes (its shapes, from the unchanged pass) and
returns the edits; a change that does not fit is a ChangeError naming the field, the problem and the fix.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal
from weakref import WeakKeyDictionary

import torch
from torch import nn

from models.hooks import Edit
from models.parts import Attention, CausalAttention

Op = Literal["no_causal_mask", "no_scaling", "no_positions", "ablate_head", "set_score", "set_param", "patch"]
Stack = Literal["encoder", "decoder", "cross"]
MAX_CHANGES = 8
VALUE_CAP = 1e4  # a score or a weight: −10⁴ already hides a key from softmax
STACKS: dict[str, tuple[str, str]] = {  # a translator's stack → its hook prefix and attention's name
    "encoder": ("encoder.", "attn"),
    "decoder": ("decoder.", "attn"),
    "cross": ("decoder.", "cross_attn"),
}


@dataclass(frozen=True)
class Change:
    """One change, as a request names it (fields an op does not use stay None)."""

    op: Op
    layer: int | None = None
    head: int | None = None
    mode: Literal["zero", "mean"] = "zero"
    query: int | None = None
    key: int | None = None
    value: float | None = None
    name: str | None = None
    index: tuple[int, ...] = ()
    hook: str | None = None
    position: int | None = None
    stack: Stack | None = None


class ChangeError(ValueError):
    """A change that does not fit the model or the pass: `field` names it as the request does
    (`interventions.2.head`)."""

    def __init__(self, at: int, name: str, problem: str, fix: str) -> None:
        super().__init__(f"{problem}. {fix}")
        self.field, self.problem, self.fix = f"interventions.{at}.{name}", problem, fix


@dataclass(frozen=True)
class Feeds:
    """Where a parameter's contribution shows (set_param): the parameter's name in the model (`param`), the hook its
    layer's output passes (`out`) and the hook holding that layer's input (`into`; None: the model's own input)."""

    param: str
    out: str
    into: str | None = None
    kind: Literal["linear", "embedding"] = "linear"


def linear_feeds(module: nn.Module, layers: Sequence[tuple[nn.Linear, str, str | None, str]]) -> dict[str, Feeds]:
    """set_param's parameters of Linear layers, each given as (the Linear, its output hook, its input hook or None,
    its short name `W1`-style prefix): by their names in the model and by short aliases (`layers.0.W`, `layers.0.b`)."""
    names = {id(p): name for name, p in module.named_parameters()}
    found: dict[str, Feeds] = {}
    for linear, out, into, alias in layers:
        for param, short in ((linear.weight, "W"), (linear.bias, "b")):
            feeds = Feeds(names[id(param)], out, into)
            found[names[id(param)]] = found[f"{alias}.{short}"] = feeds
    return found


@dataclass
class Plan:
    """The edits of a list of changes, by hook name, in the order they apply; and the entries of embedding tables
    set, by the hook their rows pass (one edit each, made once every change is read)."""

    edits: dict[str, list[Edit]] = field(default_factory=lambda: defaultdict(list))
    entries: dict[str, list[tuple[torch.Tensor, int, int, float]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, hook: str, edit: Edit) -> None:
        self.edits[hook].append(edit)


def _set_entries(entries: list[tuple[torch.Tensor, int, int, float]]) -> Edit:
    """Entries of an embedding table set: each token's row is found by its value in the unchanged lookup (a lookup
    copies the table's row exactly), then every entry set on it."""

    def set_entries(x: torch.Tensor) -> torch.Tensor:  # [batch, d_embed]: each token's row of the table
        found = [((x == table[row]).all(dim=-1), column, value) for table, row, column, value in entries]
        x = x.clone()
        for rows, column, value in found:
            x[rows, column] = value
        return x

    return set_entries


def plan(
    module: nn.Module,
    changes: Sequence[Change],
    shapes: Mapping[str, Sequence[int]],
    *,
    params: Mapping[str, Feeds] | None = None,
    model_input: torch.Tensor | None = None,
    source: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, list[Edit]]:
    """The edits that make `changes` to a pass of `module` whose values have `shapes` (hook → shape without the batch
    axis, from the unchanged pass). `params`: the parameters set_param may change (the MLP's and text net's);
    `model_input`: the input of the pass (batch first), read by set_param in the first layer; `source`: the values
    of the second input's pass, for patch (without the batch axis)."""
    names = _modules(module)
    structural: dict[str, dict[str, bool]] = defaultdict(dict)  # attention path → {"mask": off, "scale": off}
    later = Plan()  # score settings, head ablations, parameters and patches, after the structural recomputation
    out = Plan()
    for at, change in enumerate(changes):
        if change.op in ("no_causal_mask", "no_scaling", "ablate_head", "set_score"):
            path, attention = _attention(module, names, change, at)
            if change.op == "no_causal_mask":
                if not isinstance(attention, CausalAttention):
                    fix = "Remove the mask of a self-attention that has one: a GPT's, or the translator's decoder."
                    raise ChangeError(at, "op", f"{path} has no causal mask: it already sees every word", fix)
                structural[path]["mask"] = True
            elif change.op == "no_scaling":
                structural[path]["scale"] = True
            elif change.op == "ablate_head":
                head = _head(attention, change, at)
                later.add(f"{path}.hook_z", _ablate(head, change.mode))
            else:
                head = _head(attention, change, at)
                _, q_len, k_len = shapes[f"{path}.hook_scores"]
                query = _within(change.query, q_len, at, "query", "queries (positions of the input)")
                key = _within(change.key, k_len, at, "key", "keys (positions the head reads)")
                later.add(f"{path}.hook_scores", _set_score(head, query, key, _value(change, at)))
        elif change.op == "no_positions":
            hooks = [name for name in shapes if name.endswith("hook_pos_embed")]
            if not hooks:
                raise ChangeError(at, "op", "this model adds no positional encoding", "Choose another change.")
            if change.stack is not None:
                prefix = _stack(names, change, at)[0]
                hooks = [name for name in hooks if name.startswith(prefix)]
            for hook in hooks:
                out.add(hook, torch.zeros_like)
        elif change.op == "set_param":
            _set_param(later, module, change, at, params or {}, model_input)
        else:
            _patch(later, change, at, shapes, source)
    for path, off in structural.items():
        module_at = names[path]
        assert isinstance(module_at, Attention)
        _recompute(out, path, module_at, mask=not off.get("mask", False), scale=not off.get("scale", False))
    for hook, entries in later.entries.items():
        out.add(hook, _set_entries(entries))
    for hook, edits in later.edits.items():
        out.edits[hook].extend(edits)
    return dict(out.edits)


_NAMED: WeakKeyDictionary[nn.Module, dict[str, nn.Module]] = WeakKeyDictionary()


def _modules(module: nn.Module) -> dict[str, nn.Module]:
    """{path: submodule} of a model, found once (its module tree does not change after loading)."""
    found = _NAMED.get(module)
    if found is None:
        found = _NAMED[module] = dict(module.named_modules())
    return found


def _attention(module: nn.Module, names: Mapping[str, nn.Module], change: Change, at: int) -> tuple[str, Attention]:
    """The attention module a change names: its path (`blocks.0.attn`) and the module."""
    prefix, attn = _stack(names, change, at)
    blocks = names.get(f"{prefix}blocks")
    if not isinstance(blocks, nn.ModuleList):
        raise ChangeError(at, "op", "this model has no attention", "Choose set_param or patch.")
    layer = _within(change.layer, len(blocks), at, "layer", "layers")
    path = f"{prefix}blocks.{layer}.{attn}"
    attention = names[path]
    assert isinstance(attention, Attention)
    return path, attention


def _stack(names: Mapping[str, nn.Module], change: Change, at: int) -> tuple[str, str]:
    """A change's hook prefix and attention name: the translator's stacks, or a model with one."""
    stacked = "encoder" in names and "decoder" in names
    if not stacked:
        if change.stack is not None:
            raise ChangeError(at, "stack", "only the translator has stacks", "Leave stack out.")
        return "", "attn"
    if change.stack is None:
        raise ChangeError(at, "stack", "the translator has three kinds of attention",
                          'Send stack: "encoder", "decoder" or "cross".')  # fmt: skip
    return STACKS[change.stack]


def _within(value: int | None, size: int, at: int, name: str, what: str) -> int:
    if value is None:
        raise ChangeError(at, name, f"{name} is missing", f"Send a {name} from 0 to {size - 1}.")
    if not 0 <= value < size:
        raise ChangeError(at, name, f"{name} {value} is out of range: there are {size} {what}",
                          f"Send 0 to {size - 1}.")  # fmt: skip
    return value


def _head(attention: Attention, change: Change, at: int) -> int:
    return _within(change.head, attention.n_heads, at, "head", "heads")


def _value(change: Change, at: int) -> float:
    value = change.value
    if value is None:
        raise ChangeError(at, "value", "value is missing", "Send a number.")
    if not math.isfinite(value) or abs(value) > VALUE_CAP:
        raise ChangeError(at, "value", f"{value} is not a finite number within ±{VALUE_CAP:g}",
                          f"Send a number from −{VALUE_CAP:g} to {VALUE_CAP:g}.")  # fmt: skip
    return value


def _recompute(plan: Plan, path: str, attention: Attention, *, mask: bool, scale: bool) -> None:
    """Scores recomputed from the same pass's raw scores: ÷√d_head or not, the causal mask or not (a padding mask
    stays)."""
    raw: list[torch.Tensor] = []

    def keep(x: torch.Tensor) -> torch.Tensor:  # [batch, n_heads, query_pos, key_pos]: q·kᵀ
        raw[:] = [x]
        return x

    def scores(x: torch.Tensor) -> torch.Tensor:  # [batch, n_heads, query_pos, key_pos]
        hidden = torch.isinf(x)  # what the model hid: later words, padding
        if not mask:
            hidden = hidden & ~attention.mask(x.shape[-2], x.shape[-1])  # only the causal part goes
        divided = raw[0] / math.sqrt(attention.d_head) if scale else raw[0]
        return divided.masked_fill(hidden, -math.inf)

    plan.add(f"{path}.hook_scores_raw", keep)
    plan.add(f"{path}.hook_scores", scores)


def _ablate(head: int, mode: str) -> Edit:
    def ablate(z: torch.Tensor) -> torch.Tensor:  # [batch, n_heads, query_pos, d_head]
        z = z.clone()
        z[:, head] = 0.0 if mode == "zero" else z[:, head].mean(dim=-2, keepdim=True)
        return z

    return ablate


def _set_score(head: int, query: int, key: int, value: float) -> Edit:
    def set_score(scores: torch.Tensor) -> torch.Tensor:  # [batch, n_heads, query_pos, key_pos]
        if query >= scores.shape[-2] or key >= scores.shape[-1]:
            return scores  # a generation's earlier, shorter pass
        scores = scores.clone()
        scores[:, head, query, key] = value
        return scores

    return set_score


def _set_param(
    plan: Plan, module: nn.Module, change: Change, at: int, params: Mapping[str, Feeds], x: torch.Tensor | None
) -> None:
    if not params:
        raise ChangeError(at, "op", "set_param changes the MLP's and the text net's weights",
                          "On a transformer, use set_score, ablate_head or patch.")  # fmt: skip
    name = change.name
    if name is None or name not in params:
        raise ChangeError(at, "name", f"{name!r} is not a parameter of this model", f"Send one of {', '.join(params)}.")
    feeds = params[name]
    table = module.get_parameter(feeds.param).detach()
    index = change.index
    if len(index) != table.dim() or any(not 0 <= i < n for i, n in zip(index, table.shape, strict=False)):
        raise ChangeError(at, "index", f"{list(index)} does not fit {feeds.param}, shaped {list(table.shape)}",
                          f"Send {table.dim()} indices, each below its size.")  # fmt: skip
    value = _value(change, at)
    old = table[index]
    if feeds.kind == "embedding":
        plan.entries[feeds.out].append((table, index[0], index[1], value))
        return
    inputs: list[torch.Tensor] = [] if feeds.into is not None or x is None else [x]
    if feeds.into is not None:

        def keep(a: torch.Tensor) -> torch.Tensor:
            inputs[:] = [a]
            return a

        plan.add(feeds.into, keep)
    delta = value - float(old)

    def shifted(z: torch.Tensor) -> torch.Tensor:  # [batch, d_out]: z = W·a + b of the layer
        z = z.clone()
        if table.dim() == 1:  # b[r]
            z[..., index[0]] += delta
        else:  # W[r, c]: its term W[r, c]·a[c] of z[r]
            z[..., index[0]] += delta * inputs[0][..., index[1]]
        return z

    plan.add(feeds.out, shifted)


def _patch(
    plan: Plan, change: Change, at: int, shapes: Mapping[str, Sequence[int]], source: Mapping[str, torch.Tensor] | None
) -> None:
    hook = change.hook
    if hook is None or hook not in shapes:
        raise ChangeError(at, "hook", f"{hook!r} is not a hook of this model",
                          "Send a name from the model's hook_names.")  # fmt: skip
    if source is None or hook not in source:
        raise ChangeError(at, "source", "patch needs a second input", "Send source: the other input.")
    theirs = source[hook]
    shape = list(shapes[hook])
    per_head = ".attn." in hook or ".cross_attn." in hook
    axis = 1 if per_head and len(shape) >= 3 else 0 if len(shape) >= 2 else None  # the position axis, no batch
    if axis is None:  # a value with no positions (the MLP's, the text net's): all of it
        if change.position not in (None, 0):
            raise ChangeError(at, "position", f"{hook} has no positions", "Leave position out.")
        plan.add(hook, lambda x: theirs.unsqueeze(0).expand_as(x).clone())
        return
    size = min(shape[axis], theirs.shape[axis])
    position = _within(change.position, size, at, "position", "positions both inputs have at this hook")
    if list(theirs.shape[:axis]) + list(theirs.shape[axis + 1 :]) != shape[:axis] + shape[axis + 1 :]:
        raise ChangeError(at, "hook", f"{hook} is shaped {list(theirs.shape)} for the second input, {shape} here",
                          "Patch a hook whose values have the same size apart from their positions.")  # fmt: skip
    row = theirs.select(axis, position)

    def patch(x: torch.Tensor) -> torch.Tensor:  # [batch, …]: the position axis is axis + 1
        if position >= x.shape[axis + 1]:
            return x
        x = x.clone()
        x.select(axis + 1, position)[...] = row
        return x

    plan.add(hook, patch)
