"""The translator family: an encoder–decoder transformer, and the alignment its page shows (each decoder layer's
cross-attention averaged over its heads: which source word each target position reads)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

import torch

from models.families.base import LoadedModel, Weights, ready
from models.hooks import run_with_cache
from models.seq2seq import Seq2Seq, Seq2SeqConfig
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
