"""The families of models layerwalk serves. `FAMILIES` is the only list of them: a family is one class (its module
here holds how it is loaded and the analyses its page shows), registered once, below, in teaching order."""

from __future__ import annotations

from typing import Any

from models.families.base import LoadedModel, TextModel
from models.families.bert import LoadedBert
from models.families.gpt import LoadedGPT
from models.families.mlp import LoadedMLP
from models.families.seq2seq import LoadedSeq2Seq
from models.families.textnet import LoadedTextNet

FAMILIES: dict[str, type[LoadedModel[Any]]] = {}  # by name, in the order they were registered


def register(family: type[LoadedModel[Any]]) -> type[LoadedModel[Any]]:
    """Serve models of this family. Registering a second class under a family's name is an error."""
    known = FAMILIES.get(family.family)
    if known is not None and known is not family:
        raise ValueError(f"the family '{family.family}' is already registered, by {known.__qualname__}")
    FAMILIES[family.family] = family
    return family


def unregister(name: str) -> None:
    """Stop serving a family (for tests that register one of their own)."""
    FAMILIES.pop(name, None)


# The teaching path: neuron to transformer, then a pretrained encoder.
for _family in (LoadedMLP, LoadedTextNet, LoadedGPT, LoadedSeq2Seq, LoadedBert):
    register(_family)

__all__ = ["FAMILIES", "LoadedModel", "TextModel", "register", "unregister"]
