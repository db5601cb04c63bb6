"""A BERT encoder: word, position and token-type embeddings summed, then a layer norm; post-LN blocks of bidirectional
multi-head attention (every token sees every other, padding hidden) and a GELU feed-forward layer (models/parts.py).

Post-LN, as BERT was trained: the layer norm comes after each residual add, x = LN(x + attention(x)), then
x = LN(x + feed-forward(x)); the last block's normalized output is the encoder's output (the "last hidden state").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from models.hooks import HookPoint
from models.parts import Attention, FeedForward, LayerNorm


@dataclass(frozen=True)
class BertConfig:
    vocab_size: int = 30522
    n_ctx: int = 512  # learned positions: the longest input
    n_types: int = 2  # token types (segment A, segment B)
    d_model: int = 384
    n_heads: int = 12
    n_layers: int = 6
    d_mlp: int = 1536
    eps: float = 1e-12  # every layer norm's ε
    pad_id: int = 0

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class BertBlock(nn.Module):
    """Post-LN: x + attention(x), normalized; then x + feed-forward(x), normalized. Attention is not masked (only
    padding is hidden)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.hook_resid_pre = HookPoint()
        self.attn = Attention(config)
        self.hook_attn_out = HookPoint()
        self.hook_resid_mid = HookPoint()
        self.ln1 = LayerNorm(config.d_model, config.eps)
        self.mlp = FeedForward(config)
        self.hook_mlp_out = HookPoint()
        self.hook_resid_post = HookPoint()
        self.ln2 = LayerNorm(config.d_model, config.eps)

    def forward(self, x: torch.Tensor, padding: torch.Tensor | None = None) -> torch.Tensor:
        x = self.hook_resid_pre(x)  # [batch, pos, d_model]
        x = self.hook_resid_mid(x + self.hook_attn_out(self.attn(x, padding=padding)))  # [batch, pos, d_model]
        x = self.ln1(x)  # [batch, pos, d_model]: normalized after the add
        x = self.hook_resid_post(x + self.hook_mlp_out(self.mlp(x)))  # [batch, pos, d_model]
        out: torch.Tensor = self.ln2(x)  # [batch, pos, d_model]: the block's output
        return out


class Bert(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.hook_embed = HookPoint()
        self.pos_embed = nn.Embedding(config.n_ctx, config.d_model)
        self.hook_pos_embed = HookPoint()
        self.token_type_embed = nn.Embedding(config.n_types, config.d_model)
        self.hook_token_type_embed = HookPoint()
        self.hook_embed_sum = HookPoint()
        self.ln_embed = LayerNorm(config.d_model, config.eps)
        self.blocks = nn.ModuleList([BertBlock(config) for _ in range(config.n_layers)])

    def block(self, i: int) -> BertBlock:
        block = self.blocks[i]
        assert isinstance(block, BertBlock)
        return block

    def forward(
        self, ids: torch.Tensor, padding: torch.Tensor | None = None, token_types: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The last hidden state [batch, pos, d_model] of `ids` [batch, pos]. `padding` ([batch, pos], True at a
        padding token) hides those tokens from every query; `token_types` are 0 (segment A) unless given."""
        batch, pos = ids.shape
        if pos > self.config.n_ctx:
            raise ValueError(f"{pos} tokens are more than the model's {self.config.n_ctx} positions: shorten the text")
        types = torch.zeros_like(ids) if token_types is None else token_types
        word = self.hook_embed(self.embed(ids))  # [batch, pos, d_model]
        rows = self.pos_embed(torch.arange(pos)).expand(batch, pos, -1)  # [batch, pos, d_model]: position p's row
        position = self.hook_pos_embed(rows)  # [batch, pos, d_model]
        token_type = self.hook_token_type_embed(self.token_type_embed(types))  # [batch, pos, d_model]
        x = self.ln_embed(self.hook_embed_sum(word + position + token_type))  # [batch, pos, d_model]
        for block in self.blocks:
            x = block(x, padding)  # [batch, pos, d_model]: the residual stream after each block
        hidden: torch.Tensor = x  # [batch, pos, d_model]: the last hidden state
        return hidden
