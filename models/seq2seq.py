"""An encoder–decoder transformer, as in "Attention Is All You Need", built from the shared parts (models/parts.py).

The three attentions: the encoder's self-attention (every source word sees every other), the decoder's masked
self-attention (an output word sees only the words produced before it), and the decoder's cross-attention
(each output word looks at every source word, through the encoder's output).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from models.hooks import HookPoint
from models.parts import Attention, Block, CausalAttention, Embedded, FeedForward, LayerNorm


@dataclass(frozen=True)
class Seq2SeqConfig:
    source_vocab: tuple[str, ...] = field(default=())
    target_vocab: tuple[str, ...] = field(default=())  # starts with the start and end tokens
    bos: str = "<s>"
    eos: str = "</s>"
    n_ctx: int = 16
    d_model: int = 32
    n_heads: int = 4
    n_layers: int = 2
    d_mlp: int = 128

    def __post_init__(self) -> None:
        object.__setattr__(self, "source_vocab", tuple(self.source_vocab))
        object.__setattr__(self, "target_vocab", tuple(self.target_vocab))

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "source_vocab": list(self.source_vocab), "target_vocab": list(self.target_vocab)}


class EncoderBlock(Block):
    """The GPT's block, but every source word sees every other: attention is not masked."""

    attention = Attention


class DecoderBlock(nn.Module):
    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.hook_resid_pre = HookPoint()
        self.ln1 = LayerNorm(config.d_model)
        self.attn = CausalAttention(config)  # an output word sees only the ones before it
        self.hook_attn_out = HookPoint()
        self.hook_resid_mid = HookPoint()
        self.ln_cross = LayerNorm(config.d_model)
        self.cross_attn = Attention(config)  # queries from the target, keys and values from the source
        self.hook_cross_out = HookPoint()
        self.hook_resid_cross = HookPoint()
        self.ln2 = LayerNorm(config.d_model)
        self.mlp = FeedForward(config)
        self.hook_mlp_out = HookPoint()
        self.hook_resid_post = HookPoint()

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        x = self.hook_resid_pre(x)  # [batch, target_pos, d_model]
        x = self.hook_resid_mid(x + self.hook_attn_out(self.attn(self.ln1(x))))
        x = self.hook_resid_cross(x + self.hook_cross_out(self.cross_attn(self.ln_cross(x), memory)))
        out: torch.Tensor = self.hook_resid_post(x + self.hook_mlp_out(self.mlp(self.ln2(x))))
        return out


class Encoder(Embedded):
    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__(len(config.source_vocab), config.n_ctx, config.d_model)
        self.blocks = nn.ModuleList([EncoderBlock(config) for _ in range(config.n_layers)])
        self.ln_final = LayerNorm(config.d_model)

    def forward(self, source: torch.Tensor) -> torch.Tensor:
        x = self.embedded(source)  # [batch, source_pos, d_model]
        for block in self.blocks:
            x = block(x)
        memory: torch.Tensor = self.ln_final(x)  # [batch, source_pos, d_model]: what cross-attention reads
        return memory


class Decoder(Embedded):
    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__(len(config.target_vocab), config.n_ctx, config.d_model)
        self.blocks = nn.ModuleList([DecoderBlock(config) for _ in range(config.n_layers)])
        self.ln_final = LayerNorm(config.d_model)
        self.unembed = nn.Linear(config.d_model, len(config.target_vocab))
        self.hook_logits = HookPoint()

    def block(self, i: int) -> DecoderBlock:
        block = self.blocks[i]
        assert isinstance(block, DecoderBlock)
        return block

    def forward(self, target: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        x = self.embedded(target)  # [batch, target_pos, d_model]
        for block in self.blocks:
            x = block(x, memory)
        logits: torch.Tensor = self.hook_logits(self.unembed(self.ln_final(x)))  # [batch, target_pos, vocab]
        return logits


class Seq2Seq(nn.Module):
    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)

    def forward(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.decoder(target, self.encoder(source))  # type: ignore[no-any-return]
