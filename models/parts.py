"""The parts every transformer here is built from: layer norm, multi-head attention (explicit: q·kᵀ, ÷√d_head, the
mask, softmax, pattern·v, each through a hook point), the feed-forward layer, the pre-LN block, and token embeddings
plus the sinusoidal positional encoding.
"""

from __future__ import annotations

import math
from typing import Literal, Protocol

import torch
from torch import nn

from models.hooks import HookPoint


def sinusoidal_positions(n_ctx: int, d_model: int) -> torch.Tensor:
    """The paper's encoding: PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(...)."""
    pos = torch.arange(n_ctx).unsqueeze(1)  # [n_ctx, 1]
    rate = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))  # [d_model / 2]
    pe = torch.zeros(n_ctx, d_model)
    pe[:, 0::2] = torch.sin(pos * rate)
    pe[:, 1::2] = torch.cos(pos * rate)
    return pe  # [n_ctx, d_model]


class AttentionConfig(Protocol):
    """What the shared parts (attention, feed-forward) need from a model's config."""

    @property
    def d_model(self) -> int: ...
    @property
    def n_heads(self) -> int: ...
    @property
    def d_head(self) -> int: ...
    @property
    def d_mlp(self) -> int: ...


class LayerNorm(nn.Module):
    """(x − μ) / σ · γ + β at each position; μ and σ pass through hook points of their own, so a page can show
    them beside the result (the result itself is torch's layer norm, so trained weights stay the same)."""

    def __init__(self, d_model: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(d_model, eps=eps)  # eps: BERT's checkpoints use 1e-12
        self.hook_mean = HookPoint()
        self.hook_std = HookPoint()
        self.hook_normalized = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.hook_mean(x.mean(-1, keepdim=True))  # [batch, pos, 1]
        self.hook_std(torch.sqrt(x.var(-1, unbiased=False, keepdim=True) + self.ln.eps))  # [batch, pos, 1]
        out: torch.Tensor = self.hook_normalized(self.ln(x))  # [batch, pos, d_model]
        return out


class Attention(nn.Module):
    """Multi-head attention of x's queries over `source`'s keys and values (x itself for self-attention).

    Every position may look at every source position; CausalAttention forbids looking ahead.
    """

    def __init__(self, config: AttentionConfig) -> None:
        super().__init__()
        self.n_heads, self.d_head = config.n_heads, config.d_head
        self.W_Q = nn.Linear(config.d_model, config.d_model)
        self.W_K = nn.Linear(config.d_model, config.d_model)
        self.W_V = nn.Linear(config.d_model, config.d_model)
        self.W_O = nn.Linear(config.d_model, config.d_model)
        self.hook_q = HookPoint()
        self.hook_k = HookPoint()
        self.hook_v = HookPoint()
        self.hook_scores_raw = HookPoint()
        self.hook_scores = HookPoint()
        self.hook_pattern = HookPoint()
        self.hook_z = HookPoint()

    def heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, pos, _ = x.shape
        return x.view(batch, pos, self.n_heads, self.d_head).transpose(1, 2)  # [batch, n_heads, pos, d_head]

    def mask(self, query_pos: int, key_pos: int) -> torch.Tensor:
        """True where a query may not look: nowhere, here."""
        return torch.zeros(query_pos, key_pos, dtype=torch.bool)

    def forward(
        self, x: torch.Tensor, source: torch.Tensor | None = None, padding: torch.Tensor | None = None
    ) -> torch.Tensor:
        """`padding` ([batch, key_pos], True at a padding token) hides those keys from every query as well."""
        batch, pos, d_model = x.shape
        kv = x if source is None else source  # [batch, key_pos, d_model]
        q = self.hook_q(self.heads(self.W_Q(x)))  # [batch, n_heads, query_pos, d_head]
        k = self.hook_k(self.heads(self.W_K(kv)))  # [batch, n_heads, key_pos, d_head]
        v = self.hook_v(self.heads(self.W_V(kv)))  # [batch, n_heads, key_pos, d_head]
        scores_raw = self.hook_scores_raw(q @ k.transpose(-1, -2))  # [batch, n_heads, query_pos, key_pos]
        hidden = self.mask(pos, kv.shape[1])  # [query_pos, key_pos]
        if padding is not None:
            hidden = hidden | padding[:, None, None, :]  # [batch, 1, query_pos, key_pos]: padding keys hidden too
        scores = self.hook_scores((scores_raw / math.sqrt(self.d_head)).masked_fill(hidden, -math.inf))
        pattern = self.hook_pattern(torch.softmax(scores, dim=-1))  # [batch, n_heads, query_pos, key_pos]
        z = self.hook_z(pattern @ v)  # [batch, n_heads, query_pos, d_head]
        out: torch.Tensor = self.W_O(z.transpose(1, 2).reshape(batch, pos, d_model))  # [batch, pos, d_model]
        return out


class CausalAttention(Attention):
    """Self-attention in which a word sees only itself and the words before it."""

    def mask(self, query_pos: int, key_pos: int) -> torch.Tensor:
        return torch.triu(torch.ones(query_pos, key_pos, dtype=torch.bool), diagonal=1)  # later words: hidden


Approximate = Literal["none", "tanh"]  # GELU: exact (x · Φ(x), with erf), or GPT-2's tanh approximation ("gelu_new")


class FeedForward(nn.Module):
    def __init__(self, config: AttentionConfig, approximate: Approximate = "none") -> None:
        super().__init__()
        self.approximate: Approximate = approximate
        self.W_in = nn.Linear(config.d_model, config.d_mlp)
        self.W_out = nn.Linear(config.d_mlp, config.d_model)
        self.hook_pre = HookPoint()
        self.hook_post = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = self.hook_pre(self.W_in(x))  # [batch, pos, d_mlp]: expand
        post = self.hook_post(torch.nn.functional.gelu(pre, approximate=self.approximate))  # [batch, pos, d_mlp]
        out: torch.Tensor = self.W_out(post)  # [batch, pos, d_model]: compress
        return out


class Block(nn.Module):
    """Pre-LN: x + attention(LN(x)), then x + feed-forward(LN(x)). A GPT block attends causally."""

    attention: type[Attention] = CausalAttention

    def __init__(self, config: AttentionConfig, eps: float = 1e-5, approximate: Approximate = "none") -> None:
        super().__init__()
        self.hook_resid_pre = HookPoint()
        self.ln1 = LayerNorm(config.d_model, eps)
        self.attn = self.attention(config)
        self.hook_attn_out = HookPoint()
        self.hook_resid_mid = HookPoint()
        self.ln2 = LayerNorm(config.d_model, eps)
        self.mlp = FeedForward(config, approximate)
        self.hook_mlp_out = HookPoint()
        self.hook_resid_post = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.hook_resid_pre(x)  # [batch, pos, d_model]
        x = self.hook_resid_mid(x + self.hook_attn_out(self.attn(self.ln1(x))))  # [batch, pos, d_model]
        out: torch.Tensor = self.hook_resid_post(x + self.hook_mlp_out(self.mlp(self.ln2(x))))
        return out


class Embedded(nn.Module):
    """The start of every transformer here: token embeddings plus positions, the sinusoidal encoding (fixed, not a
    parameter) or, with `learned_positions`, a learned table `pos_embed` with a row per position (GPT-2's wpe)."""

    def __init__(self, vocab_size: int, n_ctx: int, d_model: int, learned_positions: bool = False) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)
        self.hook_embed = HookPoint()
        self.pos_embed = nn.Embedding(n_ctx, d_model) if learned_positions else None
        if not learned_positions:
            self.register_buffer("positions", sinusoidal_positions(n_ctx, d_model), persistent=False)
        self.hook_pos_embed = HookPoint()

    def embedded(self, ids: torch.Tensor) -> torch.Tensor:
        batch, pos = ids.shape
        if self.pos_embed is not None:
            table = self.pos_embed(torch.arange(pos, device=ids.device))  # [pos, d_model]: a row per position
        else:
            positions: torch.Tensor = self.positions  # type: ignore[assignment]
            table = positions[:pos]  # [pos, d_model]
        pe = self.hook_pos_embed(table.expand(batch, pos, -1))  # [batch, pos, d_model], like the rest
        x: torch.Tensor = self.hook_embed(self.embed(ids)) + pe  # [batch, pos, d_model]
        return x
