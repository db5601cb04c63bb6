"""The article's text net family: one token in, one logit per word out. It reads only the last token of a text."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Self

import torch
from torch import nn

from models.explain import Captured, Unfoldings, Wiring
from models.families.base import TextModel, Weights, ready
from models.hooks import run_with_cache
from models.interventions import Feeds, linear_feeds
from models.mlp import ReLULayer
from models.textnet import TextNet, TextNetConfig
from models.tokenizers import WordTokenizer


@dataclass(frozen=True, eq=False)
class LoadedTextNet(TextModel[TextNet]):
    """A trained text net with its tokenizer."""

    family = "textnet"

    @classmethod
    def load(cls, model_id: str, record: dict[str, Any], weights: Weights) -> Self:
        config = TextNetConfig(**record["config"])
        return cls(model_id, record, ready(TextNet(config), weights), WordTokenizer(list(config.vocab)))

    @property
    def eos(self) -> str:
        return self.module.config.eos

    @property
    def embedding(self) -> list[list[float]]:
        """The whole table, [vocab][d_embed]: every word's point."""
        table: list[list[float]] = self.module.embed.weight.tolist()
        return table

    @cached_property
    def params(self) -> dict[str, Feeds]:
        """What set_param may change: E (a word's point, `embed.weight` or `E`), every layer's W and b, and the
        unembedding's (`unembed.W`)."""
        module = self.module
        relus = [layer for layer in module.layers if isinstance(layer, ReLULayer)]
        reads = [self.name_of(module.hook_embed), *(self.name_of(layer.hook_a) for layer in relus)]
        layers: list[tuple[nn.Linear, str, str | None, str]] = [
            (layer.linear, self.name_of(layer.hook_z), reads[i], f"layers.{i}") for i, layer in enumerate(relus)
        ]
        layers.append((module.unembed, self.name_of(module.hook_logits), reads[-1], "unembed"))
        found = linear_feeds(module, layers)
        table = Feeds("embed.weight", self.name_of(module.hook_embed), kind="embedding")
        return {**found, "embed.weight": table, "E": table}

    def run_with_cache(self, ids: list[int]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The logits after the last token ([vocab]) and every hook's value, without the batch axis."""
        logits, cache = run_with_cache(self.module, torch.tensor(ids[-1:]))
        return logits[0], {name: value[0] for name, value in cache.items()}

    @cached_property
    def _unfoldings(self) -> Unfoldings:
        """e = E[token], then z = W·a + b and ReLU layer by layer, then the logits and the next word."""
        module, wiring = self.module, Wiring(self.module, self.tokenizer.vocab)
        table = self.name_of(module.hook_embed)
        wiring.embedding(table, module.embed)
        a, symbol = table, "e"
        for k, layer in enumerate(module.layers, 1):
            assert isinstance(layer, ReLULayer)
            a, symbol = wiring.relu_layer(layer, a, f"W{k}", symbol), f"a{k}"
        wiring.affine(self.name_of(module.hook_logits), module.unembed, a, label="W_out", symbol=symbol)
        wiring.next_token()
        return wiring.done()

    def unfoldings(self) -> Unfoldings:
        return self._unfoldings

    def captured(self, token: int, cache: dict[str, torch.Tensor], logits: torch.Tensor) -> Captured:
        """The pass over one token as its unfoldings read it."""
        return Captured(cache, {self.name_of(self.module.hook_embed): torch.tensor([token])}, logits)

    def reads(self, context: list[int]) -> tuple[int, ...]:
        """What the net sees of a context: its last token."""
        return tuple(context[-1:])

    def next_logits(self, context: list[int]) -> torch.Tensor:
        """The logits after `context`, which for this net means after its last token."""
        with torch.no_grad():
            logits: torch.Tensor = self.module(torch.tensor(context[-1:]))[0]  # [vocab]
        return logits
