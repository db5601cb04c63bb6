"""A decoder-only transformer: token and sinusoidal position embeddings, pre-LN blocks of causal multi-head attention
and a feed-forward layer (models/parts.py), a final layer norm and the unembedding.

The same module holds a GPT-2 (read from a Hugging Face folder by models/hf.py): learned positions, GELU's tanh
approximation, the layer norms' ε from its config, and the unembedding tied to the embedding table (W_U = Eᵀ, no
bias). Each is an option whose default is the GPTs trained here, so their weights and hook names stay the same.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from models.hooks import HookPoint
from models.parts import Approximate, Block, Embedded, LayerNorm


@dataclass(frozen=True)
class GPTConfig:
    vocab: tuple[str, ...] = field(default=())
    eos: str | None = "."  # the token that ends a text; None where none does (a play's characters run on)
    n_ctx: int = 24
    d_model: int = 32
    n_heads: int = 4
    n_layers: int = 2
    d_mlp: int = 128  # 4 × d_model: the feed-forward layer expands, then compresses
    # GPT-2's choices (the defaults are ours):
    positions: Literal["sinusoidal", "learned"] = "sinusoidal"  # learned: a table with a row per position
    gelu: Approximate = "none"  # "tanh": GPT-2's "gelu_new"
    eps: float = 1e-5  # every layer norm's ε
    tied: bool = False  # the unembedding reads the embedding table: W_U = Eᵀ
    unembed_bias: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "vocab", tuple(self.vocab))

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "vocab": list(self.vocab)}


class GPT(Embedded):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__(len(config.vocab), config.n_ctx, config.d_model, config.positions == "learned")
        self.config = config
        self.blocks = nn.ModuleList([Block(config, config.eps, config.gelu) for _ in range(config.n_layers)])
        self.ln_final = LayerNorm(config.d_model, config.eps)
        self.unembed = nn.Linear(config.d_model, len(config.vocab), bias=config.unembed_bias)
        if config.tied:
            self.unembed.weight = self.embed.weight  # one table, read both ways: a token's row in, logits out
        self.hook_logits = HookPoint()

    def block(self, i: int) -> Block:
        block = self.blocks[i]
        assert isinstance(block, Block)
        return block

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embedded(ids)  # [batch, pos, d_model]
        for block in self.blocks:
            x = block(x)  # [batch, pos, d_model]: the residual stream after each block
        logits: torch.Tensor = self.hook_logits(self.unembed(self.ln_final(x)))  # [batch, pos, vocab]
        return logits
