"""Hook points and the one capture function.

A HookPoint is an identity module placed where a value we show is made. Its name is its path in the module
tree (`layers.0.hook_z`), so names are never typed twice: `run_with_cache` reads them from `named_modules()`.

Capturing registers no PyTorch hooks: for the length of one forward pass, `run_with_cache` sets a context
variable mapping the wanted hook points to their names, and each hook point on that map writes its value into
the cache. A context variable is private to its thread and asyncio task, so two captures never mix.

Changing a pass works the same way (the TransformerLens way: functions on hook points, never a changed copy of the
model): inside `editing(model, edits)`, each hook point with edits passes its value through them, in order, and
what comes out goes on (and is what a capture sees). Another thread's or task's pass is untouched. A model's
hook points are found once and remembered: its module tree must not change after its first capture (ours are
built, loaded, then only run).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from weakref import WeakKeyDictionary

import torch
from torch import nn

# During a capture: (the wanted hook points with their names, the cache their values go to).
_CAPTURE: ContextVar[tuple[dict[HookPoint, str], dict[str, torch.Tensor]] | None] = ContextVar(
    "layerwalk_capture", default=None
)
Edit = Callable[[torch.Tensor], torch.Tensor]  # a hook's value → the value the pass goes on with
# While editing: the functions each hook point passes its value through.
_EDITS: ContextVar[dict[HookPoint, list[Edit]] | None] = ContextVar("layerwalk_edits", default=None)


class HookPoint(nn.Module):
    """Identity: returns its input unchanged, and gives the value a name that can be captured."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        edits = _EDITS.get()
        if edits is not None:
            for edit in edits.get(self, ()):
                x = edit(x)
        capture = _CAPTURE.get()
        if capture is not None:
            names, cache = capture
            name = names.get(self)
            if name is not None:
                cache[name] = x.detach()
        return x


_POINTS: WeakKeyDictionary[nn.Module, dict[HookPoint, str]] = WeakKeyDictionary()


def _named_points(model: nn.Module) -> dict[HookPoint, str]:
    """{hook point: name} of `model`, in the order the modules were registered; found once per model."""
    points = _POINTS.get(model)
    if points is None:
        points = {m: name for name, m in model.named_modules() if isinstance(m, HookPoint)}
        _POINTS[model] = points
    return points


def hook_names(model: nn.Module) -> list[str]:
    """Every hook point of `model`, in the order the modules were registered (the forward order by convention)."""
    return list(_named_points(model).values())


def run_with_cache(
    model: nn.Module,
    *inputs: torch.Tensor,
    names: Iterable[str] | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Run `model(*inputs)` without gradients and capture what passes through its hook points.

    Returns the output and a cache {hook name: detached tensor}, in the order the values were computed.
    `names` limits the capture; an unknown name is a KeyError naming the known ones.
    """
    points = _named_points(model)
    wanted = points
    if names is not None:
        chosen = set(names)
        unknown = chosen - set(points.values())
        if unknown:
            raise KeyError(f"Unknown hook name(s) {sorted(unknown)}. Known: {', '.join(points.values())}")
        wanted = {point: name for point, name in points.items() if name in chosen}

    cache: dict[str, torch.Tensor] = {}
    token = _CAPTURE.set((wanted, cache))
    try:
        with torch.no_grad():
            output: torch.Tensor = model(*inputs)
    finally:
        _CAPTURE.reset(token)
    return output, cache


def name_of(model: nn.Module, point: HookPoint) -> str:
    """The name of one of `model`'s hook points, read from the module tree (so analyses never type a hook name)."""
    return _named_points(model)[point]


@contextmanager
def editing(model: nn.Module, edits: Mapping[str, Sequence[Edit]]) -> Iterator[None]:
    """Within the block, every pass of `model` in this thread or task runs each hook's value through its `edits`
    ({hook name: functions, applied in order}). An unknown name is a KeyError naming the known ones."""
    points = {name: point for point, name in _named_points(model).items()}
    unknown = set(edits) - set(points)
    if unknown:
        raise KeyError(f"Unknown hook name(s) {sorted(unknown)}. Known: {', '.join(points)}")
    token = _EDITS.set({points[name]: list(functions) for name, functions in edits.items() if functions})
    try:
        yield
    finally:
        _EDITS.reset(token)
