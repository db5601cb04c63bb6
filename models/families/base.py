"""What every loaded model is: an id, its training record and its module, and how a family loads one."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, Self, TypeVar

import torch
from torch import nn

from models.explain import NONE, Unfoldings
from models.hooks import HookPoint, hook_names, name_of
from models.tokenizers import Tokenizer

M = TypeVar("M", bound=nn.Module)
Weights = dict[str, torch.Tensor]  # a state dict, as read from ID.safetensors


def ready(module: M, weights: Weights) -> M:
    """The module with its trained weights (every one, no more, no fewer), in evaluation mode."""
    module.load_state_dict(weights, strict=True)
    module.eval()
    return module


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per loaded model
class LoadedModel(ABC, Generic[M]):
    """A trained model of one family. A family is one such class, registered in models/families/__init__.py."""

    family: ClassVar[str]  # the name records, the API and the pages use
    model_types: ClassVar[tuple[str, ...]] = ()  # the Hugging Face config.json model_types `load_folder` reads
    id: str
    record: dict[str, Any]  # ID.json: title, description, config, how it was trained
    module: M

    @classmethod
    @abstractmethod
    def load(cls, model_id: str, record: dict[str, Any], weights: Weights) -> Self:
        """The model from its record (config and training) and its weights."""

    @classmethod
    def load_folder(cls, model_id: str, record: dict[str, Any], folder: Path) -> Self:
        """The model from its record and a Hugging Face folder (config.json, model.safetensors, tokenizer.json). A
        family that reads no such folder says so."""
        raise ValueError(f"{folder}: the family '{cls.family}' does not read Hugging Face folders")

    @property
    def checkpoint(self) -> int | None:
        """The training step whose weights these are, when they are a saved checkpoint's; None: the final weights."""
        found = self.record.get("checkpoint")
        return None if found is None else int(found)

    @property
    def key(self) -> str:
        """What tells this model's passes from another's in a cache: its id, and the checkpoint when it is one."""
        return self.id if self.checkpoint is None else f"{self.id}@{self.checkpoint}"

    @property
    def title(self) -> str:
        return str(self.record["title"])

    @property
    def description(self) -> str:
        return str(self.record["description"])

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.module.parameters())

    def hook_names(self) -> list[str]:
        """Every hook point, in forward order: the names of the values a forward pass shows."""
        return hook_names(self.module)

    def attention_patterns(self) -> list[str]:
        """The hooks whose values are attention patterns ([n_heads, query_pos, key_pos], each row a softmax)."""
        return [name for name in self.hook_names() if name.endswith("hook_pattern")]

    def name_of(self, point: HookPoint) -> str:
        """A hook point's name, read from the module tree."""
        return name_of(self.module, point)

    def unfoldings(self) -> Unfoldings:
        """How each shown value unfolds into its computation (models/explain.py). A family that does not say
        unfolds none: every hook is refused with that reason."""
        return NONE


@dataclass(frozen=True, eq=False)
class TextModel(LoadedModel[M]):
    """A model that reads tokens and predicts the next one: it generates text."""

    tokenizer: Tokenizer

    @property
    @abstractmethod
    def eos(self) -> str | None:
        """The token that ends a text; None when no token does (generation then stops at its length)."""

    @property
    def eos_id(self) -> int | None:
        return None if self.eos is None else self.tokenizer.id_of(self.eos)

    @abstractmethod
    def reads(self, context: list[int]) -> tuple[int, ...]:
        """What the model sees of a context (for loop detection in generation)."""

    @abstractmethod
    def next_logits(self, context: list[int]) -> torch.Tensor:
        """The logits ([vocab]) for the token after `context`."""
