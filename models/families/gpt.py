"""The GPT family: a decoder-only transformer on words or characters (the record's `tokenizer`), and the analyses
its page shows: the logit lens (what the residual stream would predict after each layer) and the comparison of two
inputs' residual streams."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Self

import torch

from models.explain import Captured, Unfoldings, Wiring
from models.families.base import TextModel, Weights, ready
from models.gpt import GPT, GPTConfig
from models.hf import read_gpt2
from models.hooks import run_with_cache
from models.tokenizers import TOKENIZERS


@dataclass(frozen=True)
class LensLayer:
    """What the residual stream after one layer predicts at each position, read through ln_final and the unembedding."""

    layer: str  # "embeddings" (before block 0), then "block 0", "block 1", …
    hook: str
    top: list[list[tuple[int, float]]]  # [pos][rank]: the most probable token ids and their probabilities


@dataclass(frozen=True)
class Comparison:
    """Where two inputs' residual streams part: ‖a − b‖ after each layer at every position both have."""

    layers: list[tuple[str, str]]  # (label, hook) of each residual stream compared
    distance: list[list[float]]  # [layer][pos]
    first_difference: int | None  # the first position whose tokens differ; None when one input begins the other
    predictions: tuple[int, int]  # the argmax after each input's last token


@dataclass(frozen=True, eq=False)
class LoadedGPT(TextModel[GPT]):
    """A trained GPT with its tokenizer, or a GPT-2 read from a Hugging Face folder. Generation slides a window of
    n_ctx tokens over a longer text."""

    family = "gpt"
    model_types = ("gpt2",)

    @classmethod
    def load(cls, model_id: str, record: dict[str, Any], weights: Weights) -> Self:
        config = GPTConfig(**record["config"])
        kind = record.get("tokenizer", "word")  # a GPT on words unless its record says otherwise
        if kind not in TOKENIZERS:
            raise KeyError(f"{model_id}.json names the tokenizer '{kind}'; known: {', '.join(TOKENIZERS)}")
        return cls(model_id, record, ready(GPT(config), weights), TOKENIZERS[kind](list(config.vocab)))

    @classmethod
    def load_folder(cls, model_id: str, record: dict[str, Any], folder: Path) -> Self:
        """A Hugging Face GPT-2 folder (models/hf.py) with its own tokenizer; the record gains the config read from it
        (the vocabulary, which the tokenizer holds, as its size only)."""
        found = read_gpt2(folder)
        config = found.module.config
        shown = {**config.to_dict(), "vocab": None, "vocab_size": len(config.vocab)}
        return cls(model_id, {**record, "config": shown}, found.module, found.tokenizer)

    @property
    def eos(self) -> str | None:
        return self.module.config.eos

    def run_with_cache(
        self, ids: list[int], names: list[str] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits at every position ([pos, vocab]) and every hook's value (or those `names`), without the batch axis."""
        logits, cache = run_with_cache(self.module, torch.tensor([ids]), names=names)
        return logits[0], {name: value[0] for name, value in cache.items()}

    @cached_property
    def _unfoldings(self) -> Unfoldings:
        module, wiring = self.module, Wiring(self.module, self.tokenizer.vocab)
        x = wiring.embedded(module)
        for i in range(module.config.n_layers):
            x = [wiring.block(module.block(i), x)]
        logits = self.name_of(module.hook_logits)
        wiring.affine(logits, module.unembed, wiring.layer_norm(module.ln_final, x[0]), label="W_U", symbol="LN(x)")
        wiring.next_token()
        return wiring.done()

    def unfoldings(self) -> Unfoldings:
        return self._unfoldings

    def captured(self, ids: list[int], cache: dict[str, torch.Tensor], logits: torch.Tensor) -> Captured:
        """A pass over `ids` as its unfoldings read it; `logits` are the next-token logits after the last position."""
        inputs = {self.name_of(self.module.hook_embed): torch.tensor(ids)}
        if self.module.pos_embed is not None:  # learned positions: each position's row of the table
            inputs[self.name_of(self.module.hook_pos_embed)] = torch.arange(len(ids))
        return Captured(cache, inputs, logits)

    def reads(self, context: list[int]) -> tuple[int, ...]:
        """What the model sees of a context: the last n_ctx tokens."""
        return tuple(context[-self.module.config.n_ctx :])

    def next_logits(self, context: list[int]) -> torch.Tensor:
        with torch.no_grad():
            logits: torch.Tensor = self.module(torch.tensor([context[-self.module.config.n_ctx :]]))[0, -1]
        return logits  # [vocab]

    def residual_stream(self) -> list[tuple[str, str]]:
        """(label, hook) of the residual stream before block 0 and after every block."""
        blocks = [self.module.block(i) for i in range(self.module.config.n_layers)]
        start = ("embeddings", self.name_of(blocks[0].hook_resid_pre))
        return [start, *((f"block {i}", self.name_of(block.hook_resid_post)) for i, block in enumerate(blocks))]

    def logit_lens(self, cache: dict[str, torch.Tensor], top: int = 3) -> list[LensLayer]:
        """Each layer's residual stream read through the final layer norm and the unembedding."""
        module = self.module
        layers = []
        with torch.no_grad():
            for label, hook in self.residual_stream():
                probs = torch.softmax(module.unembed(module.ln_final.ln(cache[hook])), dim=-1)  # [pos, vocab]
                best = torch.topk(probs, top, dim=-1)
                rows = [
                    list(zip(ids.tolist(), ps.tolist(), strict=True))
                    for ids, ps in zip(best.indices, best.values, strict=True)
                ]
                layers.append(LensLayer(label, hook, rows))
        return layers

    def compare(self, ids: list[int], other: list[int]) -> Comparison:
        """Both inputs' residual streams, and how far apart they are at each position they share."""
        layers = self.residual_stream()
        names = [hook for _, hook in layers]
        logits, a = self.run_with_cache(ids, names)
        other_logits, b = self.run_with_cache(other, names)
        n = min(len(ids), len(other))
        distance = [torch.linalg.vector_norm(a[h][:n] - b[h][:n], dim=-1).tolist() for h in names]  # [layer][pos]
        first = next((i for i in range(n) if ids[i] != other[i]), None)
        predictions = (int(logits[-1].argmax()), int(other_logits[-1].argmax()))
        return Comparison(layers, distance, first, predictions)
