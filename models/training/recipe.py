"""A recipe: how one shipped model is trained. The loop (models/training/loop.py) is shared; a recipe supplies the
model, the loss of a step (drawing its own batch), and the evaluation whose figures go into the record."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import torch
from torch import nn

from models.training.record import Optimizer

LossAt = Callable[[int], torch.Tensor]  # step (1-based) → the training loss on that step's batch
Validate = Callable[[], float]  # the loss on held-out data, now (computed without gradients)


@dataclass(frozen=True)
class Setup:
    """A model just built from the seed, the loss to train it on, and (for a recipe that holds data out) the loss
    the loop measures on held-out data as it trains, for the record's validation curve."""

    model: nn.Module
    loss_at: LossAt
    validate: Validate | None = None


@dataclass(frozen=True)
class Outcome:
    """What the trained model achieved: its metrics, the record's data and extra fields, and whether the recipe
    keeps it (a recipe that searches seeds rejects those that do not show what the model is for)."""

    metrics: dict[str, float]
    data: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)
    accepted: bool = True
    summary: dict[str, Any] = field(default_factory=dict)  # one entry of a seed search


class Config(Protocol):
    """A model's config dataclass, as every one here is: it says itself as the dict its record stores."""

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True, kw_only=True)
class Recipe(ABC):
    family: ClassVar[str]
    id: str
    title: str
    description: str
    seeds: tuple[int, ...]  # tried in order until `evaluate` accepts one; most recipes name one
    steps: int
    optimizer: Optimizer
    config: Config
    loss: str  # the loss, in words
    init: str = "PyTorch defaults"
    checkpoints: int = 50  # weights saved as it trains, the first and the last included (fewer for a large model)

    def command(self) -> str:
        """How to train it again, as the record says."""
        return f"python -m models.train {self.id}"

    def config_dict(self) -> dict[str, Any]:
        """The model's config, as the record stores it: loading is Config(**record["config"])."""
        return self.config.to_dict()

    @abstractmethod
    def setup(self, seed: int) -> Setup:
        """The model and its training loss, built after the global torch seed is set to `seed`."""

    @abstractmethod
    def evaluate(self, model: nn.Module, seed: int, curve: list[list[float]]) -> Outcome:
        """The trained model's figures (`model` is in eval mode)."""

    def seed_search(self, outcomes: list[Outcome]) -> dict[str, Any]:
        """The record's account of the seeds tried, when there were several to try."""
        return {}
