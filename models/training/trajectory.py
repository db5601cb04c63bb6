"""A model's training trajectory: copies of its weights at about `Recipe.checkpoints` steps, spaced more densely
where the loss falls fastest, saved beside the final weights as ID.checkpoints.safetensors.

While the loop trains, `Keeper` copies the weights at up to MAX_CANDIDATES evenly spaced steps (and before the
first), with the loss of each copy: the loss the next step measures is that of the weights the step before left.
Afterwards `choose` keeps `n` of them: step 0, the last step, and in between the candidates nearest to evenly
spaced marks of *progress*, which blends how far the running minimum of the loss has fallen (PROGRESS_BY_LOSS of
it) with how far training has gone (the rest), so a plateau still gets a few. The file holds every chosen step but
the last, whose weights are ID.safetensors; the record lists them all (`trajectory`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

MAX_CANDIDATES = 400  # steps whose weights are copied while training, at most
CANDIDATE_BYTES = 512 * 2**20  # and at most this much of them
PROGRESS_BY_LOSS = 0.5
SEPARATOR = "/"  # a stored tensor's key: "{step}/{parameter name}"

State = dict[str, torch.Tensor]


def file_name(model_id: str) -> str:
    return f"{model_id}.checkpoints.safetensors"


def candidate_steps(steps: int, state_bytes: int) -> list[int]:
    """Step 0 and up to MAX_CANDIDATES (fewer for a large model) evenly spaced steps, ending on the last."""
    n = max(2, min(steps, MAX_CANDIDATES, CANDIDATE_BYTES // max(1, state_bytes)))
    return sorted({0, *(round(steps * i / n) for i in range(1, n + 1))})


@dataclass
class Keeper:
    """Copies of the weights at the candidate steps, and the loss of each copy."""

    steps: int
    candidates: list[int] = field(default_factory=list)
    states: dict[int, State] = field(default_factory=dict)
    losses: dict[int, float] = field(default_factory=dict)

    def start(self, model: nn.Module) -> None:
        """Before the first step: the weights as initialised."""
        state_bytes = sum(t.numel() * t.element_size() for t in model.state_dict().values())
        self.candidates = candidate_steps(self.steps, state_bytes)
        self.states = {0: copied(model)}

    def after(self, step: int, loss: float, model: nn.Module) -> None:
        """After `step`, whose loss (`loss`) was measured on the weights step − 1 left."""
        if step - 1 in self.states:
            self.losses[step - 1] = loss
        if step in self.candidates:
            self.states[step] = copied(model)

    def chosen(self, n: int) -> list[int]:
        kept = sorted(self.states)
        losses = [self.losses.get(s, math.nan) for s in kept]
        losses[-1] = losses[-2]  # no step measured the last weights: for choosing, the step before's is near
        return choose(kept, losses, n)


def copied(model: nn.Module) -> State:
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def choose(steps: Sequence[int], losses: Sequence[float], n: int) -> list[int]:
    """`n` of `steps` (sorted, from 0 to the last), spaced by progress: the first and the last, and between them
    the step nearest each evenly spaced mark of PROGRESS_BY_LOSS · (how far the best loss so far has fallen) +
    (1 − PROGRESS_BY_LOSS) · (how far training has gone). Fewer when there are fewer steps."""
    if len(steps) <= n:
        return list(steps)
    best, running = [], math.inf
    for loss in losses:
        running = min(running, loss) if math.isfinite(loss) else running
        best.append(running)
    start, end = best[0], best[-1]
    fell = start - end if math.isfinite(start) and start > end else 0.0
    by_loss = PROGRESS_BY_LOSS if fell > 0 else 0.0  # a loss that never fell: spaced by steps alone
    last = steps[-1]
    progress = [
        by_loss * ((start - b) / fell if fell > 0 and math.isfinite(b) else 0.0) + (1 - by_loss) * s / last
        for s, b in zip(steps, best, strict=True)
    ]
    picked = [0]
    for k in range(1, n - 1):
        mark = k / (n - 1)
        room = n - 1 - k  # later marks still need a step each, before the last
        options = range(picked[-1] + 1, len(steps) - room)
        picked.append(min(options, key=lambda i: (abs(progress[i] - mark), i)))
    picked.append(len(steps) - 1)
    return [steps[i] for i in picked]


def save(keeper: Keeper, chosen: Sequence[int], out_dir: Path, model_id: str) -> dict[str, Any]:
    """Write the chosen steps' weights (all but the last, which is the final weights) and say what the record
    lists: the file and every chosen step with its loss."""
    stored = {f"{step}{SEPARATOR}{name}": value for step in chosen[:-1] for name, value in keeper.states[step].items()}
    path = out_dir / file_name(model_id)
    if stored:
        save_file(stored, str(path), metadata={"steps": ",".join(str(s) for s in chosen[:-1])})
    elif path.exists():
        path.unlink()
    return {
        "file": path.name if stored else None,
        "selection": (
            f"{len(chosen)} of {len(keeper.states)} candidate steps, nearest evenly spaced marks of "
            f"{PROGRESS_BY_LOSS:g} x (fall of the best loss so far) + {1 - PROGRESS_BY_LOSS:g} x (steps done); "
            "the last is the final weights; loss: the training loss the next step measured on these weights "
            "(the last has none)"
        ),
        "checkpoints": [{"epoch": s, "loss": keeper.losses.get(s)} for s in chosen],
    }


class Saved:
    """A model's checkpoint file, opened once: its tensors' keys by step, each step's weights read when asked for."""

    def __init__(self, path: Path) -> None:
        self._file = safe_open(str(path), framework="pt")
        self._keys: dict[int, list[str]] = {}
        for key in self._file.keys():  # type: ignore[no-untyped-call]  # noqa: SIM118 (a safetensors handle)
            step, _ = key.split(SEPARATOR, 1)
            self._keys.setdefault(int(step), []).append(key)

    def steps(self) -> list[int]:
        return sorted(self._keys)

    def weights(self, step: int) -> State:
        """The weights saved at `step` (one of `steps()`)."""
        read = self._file.get_tensor
        return {key.split(SEPARATOR, 1)[1]: read(key) for key in self._keys[step]}  # type: ignore[no-untyped-call]


def load(weights_dir: Path, model_id: str, step: int) -> State:
    """The weights saved at `step` (one of the file's; the last step's are ID.safetensors)."""
    return Saved(weights_dir / file_name(model_id)).weights(step)
