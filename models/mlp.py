"""The ReLU MLP family: x → (Linear, ReLU) × n → Linear → y.

Every layer computes z = W·a + b (`layers.{i}.hook_z`); hidden layers then apply a = ReLU(z) (`layers.{i}.hook_a`).
The output layer is linear, so the whole net is a piecewise-linear function of its input (see `piecewise.py`).
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from models.hooks import HookPoint


@dataclass(frozen=True)
class MLPConfig:
    d_in: int = 1
    hidden: tuple[int, ...] = field(default=(2, 2))
    d_out: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(self.hidden))  # JSON records give a list

    @property
    def widths(self) -> list[int]:
        """Sizes of every activation from input to output: [d_in, *hidden, d_out]."""
        return [self.d_in, *self.hidden, self.d_out]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "hidden": list(self.hidden)}


class Affine(nn.Module):
    """z = W·a + b. On its own it is the output layer; `ReLULayer` adds the activation."""

    def __init__(self, d_in: int, d_out: int) -> None:
        super().__init__()
        self.linear = nn.Linear(d_in, d_out)
        self.hook_z = HookPoint()

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        z: torch.Tensor = self.hook_z(self.linear(a))  # [batch, d_out]
        return z


class ReLULayer(Affine):
    """z = W·a + b, then a = ReLU(z): a unit is "off" where z ≤ 0."""

    def __init__(self, d_in: int, d_out: int) -> None:
        super().__init__(d_in, d_out)
        self.hook_a = HookPoint()

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        z = super().forward(a)  # [batch, d_out]
        a_out: torch.Tensor = self.hook_a(torch.relu(z))  # [batch, d_out]
        return a_out


class MLP(nn.Module):
    def __init__(self, config: MLPConfig) -> None:
        super().__init__()
        self.config = config
        widths = config.widths
        hidden: list[nn.Module] = [ReLULayer(i, o) for i, o in itertools.pairwise(widths[:-1])]
        self.layers = nn.ModuleList([*hidden, Affine(widths[-2], widths[-1])])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = x  # [batch, d_in]
        for layer in self.layers:
            a = layer(a)
        return a  # [batch, d_out]

    def affine_layers(self) -> list[Affine]:
        return [layer for layer in self.layers if isinstance(layer, Affine)]

    def weights(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(W [d_out, d_in], b [d_out]) of every layer, input to output."""
        return [(layer.linear.weight.detach(), layer.linear.bias.detach()) for layer in self.affine_layers()]
