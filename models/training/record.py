"""What every training run writes: ID.safetensors (the state dict) and ID.json (the record)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import nn

LOSS_CURVE_POINTS = 100


def keeps_loss(epoch: int, epochs: int) -> bool:
    """Whether `epoch` goes into the loss curve: the first, then about LOSS_CURVE_POINTS evenly spaced."""
    return epoch == 1 or epoch % max(1, epochs // LOSS_CURVE_POINTS) == 0


def stamp(model_id: str, seconds: float) -> dict[str, Any]:
    """The fields every record ends with: when, how long, with what, and how to do it again."""
    return {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": round(seconds, 2),
        "torch_version": torch.__version__,
        "command": f"python -m models.train {model_id}",
    }


def save(model: nn.Module, record: dict[str, Any], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(model.state_dict(), str(out_dir / f"{record['id']}.safetensors"))
    (out_dir / f"{record['id']}.json").write_text(json.dumps(record, indent=1) + "\n")
