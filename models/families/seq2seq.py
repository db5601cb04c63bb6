"""The translator family: an encoder–decoder transformer, and the alignment its page shows (each decoder layer's
cross-attention averaged over its heads: which source word each target position reads)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Self

import torch

from models.explain import Captured, Unfoldings, Wiring
from models.families.base import LoadedModel, Weights, ready
from models.hooks import run_with_cache
from models.parts import Block
from models.seq2seq import DecoderBlock, Seq2Seq, Seq2SeqConfig
from models.tokenizers import Tokenizer, WordTokenizer


@dataclass(frozen=True, eq=False)
class LoadedSeq2Seq(LoadedModel[Seq2Seq]):
    """A trained translator with its source and target tokenizers. The decoder starts from the start token."""

    family = "seq2seq"
    tokenizer: Tokenizer  # the source's: what a user types
    target_tokenizer: Tokenizer

    @classmethod
    def load(cls, model_id: str, record: dict[str, Any], weights: Weights) -> Self:
        config = Seq2SeqConfig(**record["config"])
        module = ready(Seq2Seq(config), weights)
        return cls(
            model_id, record, module, WordTokenizer(list(config.source_vocab)), WordTokenizer(list(config.target_vocab))
        )

    @property
    def bos_id(self) -> int:
        return self.target_tokenizer.id_of(self.module.config.bos)

    @property
    def eos_id(self) -> int:
        return self.target_tokenizer.id_of(self.module.config.eos)

    def run_with_cache(
        self, source: list[int], target: list[int], names: list[str] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits at every target position ([target_pos, vocab]) and every hook's value (or those `names`), without
        the batch axis."""
        logits, cache = run_with_cache(self.module, torch.tensor([source]), torch.tensor([target]), names=names)
        return logits[0], {name: value[0] for name, value in cache.items()}

    @cached_property
    def _unfoldings(self) -> Unfoldings:
        """The encoder's blocks as the GPT's (unmasked), then the decoder's, each with its cross-attention reading
        the encoder's output."""
        encoder, decoder = self.module.encoder, self.module.decoder
        wiring = Wiring(self.module, self.target_tokenizer.vocab)
        x = wiring.embedded(encoder, self.tokenizer.vocab)
        for block in encoder.blocks:
            assert isinstance(block, Block)
            x = [wiring.block(block, x)]
        memory = wiring.layer_norm(encoder.ln_final, x[0])
        x = wiring.embedded(decoder)
        for i in range(self.module.config.n_layers):
            x = [self._decoder_block(wiring, decoder.block(i), x, memory)]
        logits = self.name_of(decoder.hook_logits)
        wiring.affine(logits, decoder.unembed, wiring.layer_norm(decoder.ln_final, x[0]), label="W_U", symbol="LN(x)")
        wiring.next_token()
        return wiring.done()

    @staticmethod
    def _decoder_block(wiring: Wiring, block: DecoderBlock, before: list[str], memory: str) -> str:
        hook = wiring.hook
        pre = wiring.resid_pre(block.hook_resid_pre, before)
        attn_out, mid = hook(block.hook_attn_out), hook(block.hook_resid_mid)
        ln1 = wiring.layer_norm(block.ln1, pre)
        wiring.attention(block.attn, ln1, ln1, attn_out)
        wiring.sum(mid, [pre, attn_out], "x′ = x + attention out")
        cross_out, cross = hook(block.hook_cross_out), hook(block.hook_resid_cross)
        wiring.attention(block.cross_attn, wiring.layer_norm(block.ln_cross, mid), memory, cross_out)
        wiring.sum(cross, [mid, cross_out], "x′ = x + cross-attention out")
        mlp_out, post = hook(block.hook_mlp_out), hook(block.hook_resid_post)
        wiring.feed_forward(block.mlp, wiring.layer_norm(block.ln2, cross), mlp_out)
        wiring.sum(post, [cross, mlp_out], "x′ = x + feed-forward out")
        return post

    def unfoldings(self) -> Unfoldings:
        return self._unfoldings

    def captured(
        self, source: list[int], target: list[int], cache: dict[str, torch.Tensor], logits: torch.Tensor
    ) -> Captured:
        """A pass as its unfoldings read it; `logits` are the next-word logits after the last target position."""
        encoder, decoder = self.module.encoder, self.module.decoder
        inputs = {self.name_of(encoder.hook_embed): torch.tensor(source), self.name_of(decoder.hook_embed):
                  torch.tensor(target)}  # fmt: skip
        return Captured(cache, inputs, logits)

    def next_logits_for(self, source: list[int]) -> Callable[[list[int]], torch.Tensor]:
        """For generation: the logits after a target context, for this source."""
        with torch.no_grad():
            memory = self.module.encoder(torch.tensor([source]))  # [1, source_pos, d_model]: encoded once

        def next_logits(context: list[int]) -> torch.Tensor:
            with torch.no_grad():
                logits: torch.Tensor = self.module.decoder(torch.tensor([context]), memory)[0, -1]  # [vocab]
            return logits

        return next_logits

    def cross_patterns(self) -> list[str]:
        """The hook of each decoder layer's cross-attention pattern, first layer first."""
        decoder = self.module.decoder
        return [self.name_of(decoder.block(i).cross_attn.hook_pattern) for i in range(self.module.config.n_layers)]

    def alignment(self, cache: dict[str, torch.Tensor]) -> torch.Tensor:
        """[layer, target_pos, source_pos]: each layer's cross-attention averaged over its heads."""
        return torch.stack([cache[hook].mean(0) for hook in self.cross_patterns()])

    def reading(self, source: list[int], target: list[int]) -> torch.Tensor:
        """[target_pos, source_pos]: what each target position read, the last layer's alignment. The decoder is
        causal, so one pass over a finished translation gives the row each of its words was made with."""
        _, cache = self.run_with_cache(source, target, names=self.cross_patterns()[-1:])
        return next(iter(cache.values())).mean(0)
