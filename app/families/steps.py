"""The forward pass as a list of steps, one per hook point, shared by every family."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from app import schemas
from models.hooks import hook_names

# For a hook name: its title, its formula, and the Linear whose W and b it used (None if it used none).
Label = tuple[str, str | None, nn.Linear | None]


def _exact(value: torch.Tensor) -> list[object]:
    return value.tolist()


def steps_from_cache(
    module: nn.Module,
    cache: dict[str, torch.Tensor],
    label: Callable[[str], Label],
    numbers: Callable[[torch.Tensor], list[object]] = _exact,
) -> list[schemas.Step]:
    """One step per hook, in forward order; `numbers` turns a value into JSON lists (exact by default)."""
    steps = []
    for name in hook_names(module):
        title, formula, linear = label(name)
        value = cache[name]
        step = schemas.Step(name=name, shape=list(value.shape), data=numbers(value), title=title, formula=formula)
        if linear is not None:
            step.W, step.b = linear.weight.tolist(), linear.bias.tolist()
        steps.append(step)
    return steps
