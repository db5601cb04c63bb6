"""The tiny next-token text net: a token's embedding → (Linear, ReLU) × n_layers → one logit per word.

It sees one token, the last one, so its next-token prediction is a fixed table it has learned: greedy decoding
that reaches a word predicting itself stays there (the article's dog → dog trap).
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from models.hooks import HookPoint
from models.mlp import ReLULayer


@dataclass(frozen=True)
class TextNetConfig:
    vocab: tuple[str, ...] = field(default=())
    eos: str = "!"
    d_embed: int = 2
    d_hidden: int = 2
    n_layers: int = 2

    def __post_init__(self) -> None:
        object.__setattr__(self, "vocab", tuple(self.vocab))  # JSON records give a list

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "vocab": list(self.vocab)}


class TextNet(nn.Module):
    def __init__(self, config: TextNetConfig) -> None:
        super().__init__()
        self.config = config
        vocab = len(config.vocab)
        self.embed = nn.Embedding(vocab, config.d_embed)
        self.hook_embed = HookPoint()
        widths = [config.d_embed] + [config.d_hidden] * config.n_layers
        self.layers = nn.ModuleList([ReLULayer(i, o) for i, o in itertools.pairwise(widths)])
        self.unembed = nn.Linear(config.d_hidden, vocab)
        self.hook_logits = HookPoint()

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        a: torch.Tensor = self.hook_embed(self.embed(ids))  # [batch, d_embed]: the table row of each token
        for layer in self.layers:
            a = layer(a)  # [batch, d_hidden]
        logits: torch.Tensor = self.hook_logits(self.unembed(a))  # [batch, vocab]
        return logits
