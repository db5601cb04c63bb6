"""Hook points and the one capture function.

A HookPoint is an identity module placed where a value we show is made. Its name is its path in the module
tree (`layers.0.hook_z`), so names are never typed twice: `run_with_cache` reads them from `named_modules()`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn


class HookPoint(nn.Module):
    """Identity: returns its input unchanged, and gives the value a name that can be captured."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def hook_names(model: nn.Module) -> list[str]:
    """Every hook point of `model`, in the order the modules were registered (the forward order by convention)."""
    return [name for name, module in model.named_modules() if isinstance(module, HookPoint)]


def run_with_cache(
    model: nn.Module,
    *inputs: torch.Tensor,
    names: Iterable[str] | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Run `model(*inputs)` without gradients and capture what passes through its hook points.

    Returns the output and a cache {hook name: detached tensor}, in the order the values were computed.
    `names` limits the capture; an unknown name is a KeyError naming the known ones.
    """
    known = hook_names(model)
    wanted = set(known if names is None else names)
    unknown = wanted - set(known)
    if unknown:
        raise KeyError(f"Unknown hook name(s) {sorted(unknown)}. Known: {', '.join(known)}")

    cache: dict[str, torch.Tensor] = {}
    handles = []
    for name, module in model.named_modules():
        if name in wanted and isinstance(module, HookPoint):

            def save(_m: nn.Module, _args: Any, output: torch.Tensor, name: str = name) -> None:
                cache[name] = output.detach()

            handles.append(module.register_forward_hook(save))
    try:
        with torch.no_grad():
            output: torch.Tensor = model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return output, cache
