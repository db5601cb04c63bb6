"""Finds the shipped weights, loads each model once, and hands it out by id.

A model is the pair `ID.json` (its record: family, config, training) + `ID.safetensors` (its state dict) in the
weights folder. Ids are looked up among the discovered records; they are never used to build a path.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors.torch import load_file
from torch import nn

from models.gpt import GPT, GPTConfig
from models.hooks import run_with_cache
from models.mlp import MLP, MLPConfig
from models.piecewise import (
    Breakpoint,
    Region,
    Weights,
    breakpoints,
    linear_regions,
    region_at,
    region_of_pass,
    within,
)
from models.seq2seq import Seq2Seq, Seq2SeqConfig
from models.textnet import TextNet, TextNetConfig
from models.tokenizers import WordTokenizer

WEIGHTS_DIR = Path(__file__).parent / "weights"


class _Counted:
    """What every loaded model can say about itself (the dataclasses below supply the fields)."""

    module: nn.Module

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.module.parameters())


class _Text(_Counted):
    module: TextNet | GPT
    tokenizer: WordTokenizer

    @property
    def eos_id(self) -> int:
        return self.tokenizer.ids[self.module.config.eos]


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per loaded model
class LoadedMLP(_Counted):
    """A trained sqrt MLP with its exact piecewise-linear form, computed once on first use."""

    id: str
    record: dict[str, Any]
    module: MLP
    family: str = "mlp"

    @property
    def domain(self) -> tuple[float, float]:
        lo, hi = self.record["data"]["domain"]
        return float(lo), float(hi)

    @cached_property
    def weights64(self) -> Weights:
        """Every layer's (W, b) in float64, for the exact analysis."""
        return [(w.double().numpy(), b.double().numpy()) for w, b in self.module.weights()]

    @cached_property
    def regions(self) -> list[Region]:
        """Every linear region on the whole real line (the outer two are unbounded)."""
        return linear_regions(self.weights64, -math.inf, math.inf)

    @cached_property
    def domain_regions(self) -> list[Region]:
        return within(self.regions, *self.domain)

    @cached_property
    def domain_breakpoints(self) -> list[Breakpoint]:
        lo, hi = self.domain
        return [p for p in breakpoints(self.regions) if lo < p.x < hi]

    def run_with_cache(self, x: float) -> tuple[float, dict[str, torch.Tensor]]:
        """y = f(x) and every hook's value for this one input, without the batch axis."""
        out, cache = run_with_cache(self.module, torch.tensor([[x]], dtype=torch.float32))
        return float(out[0, 0]), {name: value[0] for name, value in cache.items()}

    def region_at(self, x: float) -> Region:
        return region_at(self.regions, x)

    def region_of_pass(self, x: float, cache: dict[str, torch.Tensor]) -> Region:
        """The region the captured pass at x was in, chosen by that pass's own ReLUs (a > 0 is on)."""
        active = tuple(tuple(a.gt(0).tolist()) for name, a in cache.items() if name.endswith(".hook_a"))
        return region_of_pass(self.regions, self.weights64, x, active)

    @staticmethod
    def target(x: float) -> float | None:
        """What the net was trained to output, sqrt(x); None where sqrt is undefined (x < 0)."""
        return math.sqrt(x) if x >= 0 else None

    def extrapolating(self, x: float) -> bool:
        lo, hi = self.domain
        return not lo <= x <= hi


@dataclass(frozen=True, eq=False)
class LoadedTextNet(_Text):
    """A trained text net with its tokenizer. It reads one token: the last one of its input."""

    id: str
    record: dict[str, Any]
    module: TextNet
    tokenizer: WordTokenizer
    family: str = "textnet"

    def run_with_cache(self, ids: list[int]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The logits after the last token ([vocab]) and every hook's value, without the batch axis."""
        logits, cache = run_with_cache(self.module, torch.tensor(ids[-1:]))
        return logits[0], {name: value[0] for name, value in cache.items()}

    @staticmethod
    def reads(context: list[int]) -> tuple[int, ...]:
        """What the net sees of a context: its last token."""
        return tuple(context[-1:])

    def next_logits(self, context: list[int]) -> torch.Tensor:
        """For generation: the logits after `context`, which for this net means after its last token."""
        with torch.no_grad():
            logits: torch.Tensor = self.module(torch.tensor(context[-1:]))[0]  # [vocab]
        return logits


@dataclass(frozen=True, eq=False)
class LoadedGPT(_Text):
    """A trained tiny GPT with its tokenizer. Generation slides a window of n_ctx tokens over a longer text."""

    id: str
    record: dict[str, Any]
    module: GPT
    tokenizer: WordTokenizer
    family: str = "gpt"

    def run_with_cache(self, ids: list[int]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits at every position ([pos, vocab]) and every hook's value, without the batch axis."""
        logits, cache = run_with_cache(self.module, torch.tensor([ids]))
        return logits[0], {name: value[0] for name, value in cache.items()}

    def reads(self, context: list[int]) -> tuple[int, ...]:
        """What the model sees of a context: the last n_ctx tokens."""
        return tuple(context[-self.module.config.n_ctx :])

    def next_logits(self, context: list[int]) -> torch.Tensor:
        with torch.no_grad():
            logits: torch.Tensor = self.module(torch.tensor([context[-self.module.config.n_ctx :]]))[0, -1]
        return logits  # [vocab]


@dataclass(frozen=True, eq=False)
class LoadedSeq2Seq(_Counted):
    """A trained translator with its source and target tokenizers. The decoder starts from the start token."""

    id: str
    record: dict[str, Any]
    module: Seq2Seq
    tokenizer: WordTokenizer  # the source's: what a user types
    target_tokenizer: WordTokenizer
    family: str = "seq2seq"

    @property
    def bos_id(self) -> int:
        return self.target_tokenizer.ids[self.module.config.bos]

    @property
    def eos_id(self) -> int:
        return self.target_tokenizer.ids[self.module.config.eos]

    def run_with_cache(self, source: list[int], target: list[int]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits at every target position ([target_pos, vocab]) and every hook's value, without the batch axis."""
        logits, cache = run_with_cache(self.module, torch.tensor([source]), torch.tensor([target]))
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


LoadedModel = LoadedMLP | LoadedTextNet | LoadedGPT | LoadedSeq2Seq
TextModel = LoadedTextNet | LoadedGPT


M = TypeVar("M", bound=nn.Module)


def _ready(module: M, weights: dict[str, torch.Tensor]) -> M:
    """The module with its trained weights (every one, no more, no fewer), in evaluation mode."""
    module.load_state_dict(weights, strict=True)
    module.eval()
    return module


def _load_mlp(model_id: str, record: dict[str, Any], weights: dict[str, torch.Tensor]) -> LoadedMLP:
    return LoadedMLP(model_id, record, _ready(MLP(MLPConfig(**record["config"])), weights))


def _load_textnet(model_id: str, record: dict[str, Any], weights: dict[str, torch.Tensor]) -> LoadedTextNet:
    config = TextNetConfig(**record["config"])
    module = _ready(TextNet(config), weights)
    return LoadedTextNet(model_id, record, module, WordTokenizer(list(config.vocab)))


def _load_gpt(model_id: str, record: dict[str, Any], weights: dict[str, torch.Tensor]) -> LoadedGPT:
    config = GPTConfig(**record["config"])
    module = _ready(GPT(config), weights)
    return LoadedGPT(model_id, record, module, WordTokenizer(list(config.vocab)))


def _load_seq2seq(model_id: str, record: dict[str, Any], weights: dict[str, torch.Tensor]) -> LoadedSeq2Seq:
    config = Seq2SeqConfig(**record["config"])
    module = _ready(Seq2Seq(config), weights)
    return LoadedSeq2Seq(
        model_id, record, module, WordTokenizer(list(config.source_vocab)), WordTokenizer(list(config.target_vocab))
    )


_LOADERS: dict[str, Callable[[str, dict[str, Any], dict[str, torch.Tensor]], LoadedModel]] = {
    "mlp": _load_mlp,
    "textnet": _load_textnet,
    "gpt": _load_gpt,
    "seq2seq": _load_seq2seq,
}


class Registry:
    """The models found in one weights folder, each loaded once on first use."""

    def __init__(self, weights_dir: Path = WEIGHTS_DIR) -> None:
        self.weights_dir = weights_dir
        self._records = {
            path.stem: json.loads(path.read_text())
            for path in sorted(weights_dir.glob("*.json"))
            if path.with_suffix(".safetensors").exists()
        }
        self._loaded: dict[str, LoadedModel] = {}

    def ids(self) -> list[str]:
        return list(self._records)

    def load(self, model_id: str) -> LoadedModel:
        """The model called `model_id`; an unknown id is a KeyError that names the known ones."""
        if model_id not in self._records:
            raise KeyError(f"Unknown model '{model_id}'. Known: {', '.join(self.ids())}")
        if model_id not in self._loaded:
            record = self._records[model_id]
            weights = load_file(str(self.weights_dir / f"{model_id}.safetensors"))
            self._loaded[model_id] = _LOADERS[record["family"]](model_id, record, weights)
        return self._loaded[model_id]

    def load_all(self) -> list[LoadedModel]:
        return [self.load(model_id) for model_id in self.ids()]


_default: Registry | None = None


def _registry() -> Registry:
    global _default
    if _default is None:
        _default = Registry()
    return _default


def ids() -> list[str]:
    """The ids of the shipped models."""
    return _registry().ids()


def load(model_id: str) -> LoadedModel:
    """A shipped model by id: `registry.load("sqrt-mlp-2x2").run_with_cache(4.0)`."""
    return _registry().load(model_id)


__all__ = [
    "WEIGHTS_DIR",
    "LoadedGPT",
    "LoadedMLP",
    "LoadedModel",
    "LoadedSeq2Seq",
    "LoadedTextNet",
    "Registry",
    "TextModel",
    "ids",
    "load",
]
