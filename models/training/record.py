"""The one training record: what every run writes as ID.json beside ID.safetensors (its state dict).

The record is what the app serves as a model's `training` and what `python -m models.train ID` reproduces: config,
seed, data, optimizer, epochs, loss curve, metrics, and when, how long, with what and how to do it again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import torch
from safetensors.torch import save_file
from torch import nn


@dataclass(frozen=True)
class Optimizer:
    """How the weights were moved: the optimizer, its learning rate and schedule, and the batch."""

    name: Literal["SGD", "Adam", "AdamW"]
    lr: float
    momentum: float = 0.0  # SGD's: 0 is plain SGD
    batch: int | Literal["full"] = "full"
    schedule: Literal["cosine decay to 0", "constant"] = "constant"
    weight_decay: float = 0.0


@dataclass(frozen=True)
class TrainingRecord:
    id: str
    family: str
    title: str
    description: str
    config: dict[str, Any]  # the model's Config as a dict: loading is Config(**record["config"])
    seed: int
    init: str
    data: dict[str, Any]  # what it was trained on, in the family's words (samples, pairs, corpus)
    optimizer: Optimizer
    loss: str
    epochs: int  # optimizer steps
    loss_curve: list[list[float]]  # [step, loss], about LOSS_CURVE_POINTS of them
    metrics: dict[str, float]
    trained_at: str
    duration_s: float
    torch_version: str
    command: str
    validation_curve: list[list[float]] | None = None  # [step, held-out loss], when the recipe holds data out
    extra: dict[str, Any] = field(default_factory=dict)  # the family's own findings (a seed search, predictions)
    trajectory: dict[str, Any] | None = None  # the checkpoints saved as it trained (models/training/trajectory.py)

    def __post_init__(self) -> None:
        if clash := sorted(set(self.extra) & {f.name for f in fields(self)}):
            raise ValueError(f"{self.id}: the extra fields {clash} would replace the record's own")

    def to_json(self) -> dict[str, Any]:
        """The record as ID.json holds it: the family's extra fields sit beside the common ones, and a validation
        curve (only a recipe with held-out data has one) right after the loss curve."""
        common = asdict(self)
        extra, validation = common.pop("extra"), common.pop("validation_curve")
        path = common.pop("trajectory")
        extra = {**extra, **({} if path is None else {"trajectory": path})}
        if validation is None:
            return {**common, **extra}
        at = list(common).index("loss_curve") + 1
        items = list(common.items())
        return {**dict(items[:at]), "validation_curve": validation, **dict(items[at:]), **extra}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def torch_version() -> str:
    return torch.__version__


def save(module: nn.Module, record: TrainingRecord, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(module.state_dict(), str(out_dir / f"{record.id}.safetensors"))
    (out_dir / f"{record.id}.json").write_text(json.dumps(record.to_json(), indent=1) + "\n")
