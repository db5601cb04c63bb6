"""Finds the models in a weights folder, loads each once, and hands it out by id.

A model is the pair `ID.json` (its record: family, config, training) + `ID.safetensors` (its state dict) in the
weights folder. The record's family picks the class that loads it (models/families). Ids are looked up among the
discovered records; they are never used to build a path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors.torch import load_file

from models.families import FAMILIES, LoadedModel

WEIGHTS_DIR = Path(__file__).parent / "weights"


class Registry:
    """The models found in one weights folder, each loaded once on first use."""

    def __init__(self, weights_dir: Path = WEIGHTS_DIR) -> None:
        self.weights_dir = weights_dir
        self._records = {
            path.stem: json.loads(path.read_text())
            for path in sorted(weights_dir.glob("*.json"))
            if path.with_suffix(".safetensors").exists()
        }
        self._loaded: dict[str, LoadedModel[Any]] = {}

    def ids(self) -> list[str]:
        return list(self._records)

    def load(self, model_id: str) -> LoadedModel[Any]:
        """The model called `model_id`; an unknown id is a KeyError that names the known ones."""
        if model_id not in self._records:
            raise KeyError(f"Unknown model '{model_id}'. Known: {', '.join(self.ids())}")
        if model_id not in self._loaded:
            record = self._records[model_id]
            family = FAMILIES.get(record["family"])
            if family is None:
                raise KeyError(
                    f"{model_id}.json names the family '{record['family']}', which is not registered. "
                    f"Registered: {', '.join(FAMILIES)}"
                )
            weights = load_file(str(self.weights_dir / f"{model_id}.safetensors"))
            self._loaded[model_id] = family.load(model_id, record, weights)
        return self._loaded[model_id]

    def load_all(self) -> list[LoadedModel[Any]]:
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


def load(model_id: str) -> LoadedModel[Any]:
    """A shipped model by id: `registry.load("sqrt-mlp-2x2").run_with_cache(4.0)`."""
    return _registry().load(model_id)


__all__ = ["WEIGHTS_DIR", "Registry", "ids", "load"]
