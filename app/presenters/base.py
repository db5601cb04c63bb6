"""The forward pass as a list of steps, one per hook point, shared by every family."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from pydantic import TypeAdapter
from torch import nn

from app import schemas
from models.hooks import hook_names

# For a hook name: its title, its formula, and the Linear whose W and b it used (None if it used none).
Label = tuple[str, str | None, nn.Linear | None]

STEPS = TypeAdapter(list[schemas.Step])


@dataclass(frozen=True)
class Layout:
    """What a step shows that is the same on every pass: its name, title, formula, and the W and b it used."""

    name: str
    title: str
    formula: str | None
    W: list[list[float]] | None
    b: list[float] | None


def layout(module: nn.Module, label: Callable[[str], Label]) -> list[Layout]:
    """One entry per hook, in forward order. Families keep it per model, so W and b are listed once."""
    entries = []
    for name in hook_names(module):
        title, formula, linear = label(name)
        W, b = (None, None) if linear is None else (linear.weight.tolist(), linear.bias.tolist())
        entries.append(Layout(name, title, formula, W, b))
    return entries


def _exact(value: torch.Tensor) -> list[object]:
    return value.tolist()


def steps_from_cache(
    layout: list[Layout],
    cache: dict[str, torch.Tensor],
    numbers: Callable[[torch.Tensor], list[object]] = _exact,
) -> list[schemas.Step]:
    """One step per hook, in forward order; `numbers` turns a value into JSON lists (exact by default)."""
    return [
        schemas.Step(
            name=entry.name,
            shape=list(cache[entry.name].shape),
            data=numbers(cache[entry.name]),
            title=entry.title,
            formula=entry.formula,
            W=entry.W,
            b=entry.b,
        )
        for entry in layout
    ]
