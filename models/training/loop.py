"""The one training loop, and the run around it that every recipe shares.

`fit` moves a model's weights: at each step the recipe's loss (which draws its own batch), backward, the optimizer's
step and the schedule's; the loss curve keeps about LOSS_CURVE_POINTS of the steps. `train` seeds, asks the recipe
for its model and loss, fits, lets the recipe evaluate, and writes the weights and the record. One thread: the same
seed gives the same floats. A recipe that holds data out gets its held-out loss measured VALIDATION_POINTS times
as it trains (the record's validation curve).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
from torch import nn

from models.training import record
from models.training.progress import Progress
from models.training.recipe import LossAt, Outcome, Recipe, Validate
from models.training.record import Optimizer, TrainingRecord

LOSS_CURVE_POINTS = 100
VALIDATION_POINTS = 20

Curve = list[list[float]]  # [step, loss] pairs


def keeps_loss(step: int, steps: int) -> bool:
    """Whether `step` goes into the loss curve: the first, then about LOSS_CURVE_POINTS evenly spaced."""
    return step == 1 or step % max(1, steps // LOSS_CURVE_POINTS) == 0


def optimizer_for(model: nn.Module, spec: Optimizer) -> torch.optim.Optimizer:
    params = model.parameters()
    if spec.name == "SGD":
        return torch.optim.SGD(params, lr=spec.lr, weight_decay=spec.weight_decay)
    if spec.name == "Adam":
        return torch.optim.Adam(params, lr=spec.lr, weight_decay=spec.weight_decay)
    return torch.optim.AdamW(params, lr=spec.lr, weight_decay=spec.weight_decay)


def keeps_validation(step: int, steps: int) -> bool:
    """Whether the held-out loss is measured after `step`: VALIDATION_POINTS evenly spaced steps, ending on the last."""
    return step % max(1, steps // VALIDATION_POINTS) == 0


def fit(model: nn.Module, loss_at: LossAt, steps: int, spec: Optimizer, progress: Progress) -> Curve:
    """Train `model` for `steps` steps of `loss_at(step)`; returns the loss curve, [step, loss] pairs."""
    return fit_validated(model, loss_at, steps, spec, progress, None)[0]


def fit_validated(
    model: nn.Module, loss_at: LossAt, steps: int, spec: Optimizer, progress: Progress, validate: Validate | None
) -> tuple[Curve, Curve | None]:
    """`fit`, and the held-out loss `validate()` after the steps `keeps_validation` names (None without one)."""
    optimizer = optimizer_for(model, spec)
    schedule = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps) if spec.schedule != "constant" else None
    )
    model.train()
    curve: Curve = []
    validation: Curve | None = None if validate is None else []
    for step in range(1, steps + 1):
        optimizer.zero_grad()
        loss = loss_at(step)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        if schedule is not None:
            schedule.step()
        if keeps_loss(step, steps):
            curve.append([step, loss.item()])
        if validate is not None and validation is not None and keeps_validation(step, steps):
            model.eval()
            validation.append([step, validate()])
            model.train()
        progress.update(step, loss.item())
    model.eval()
    return curve, validation


def train_seed(recipe: Recipe, seed: int, bar: Progress | None = None) -> tuple[nn.Module, Curve]:
    """The recipe's model trained from `seed` (in eval mode), and its loss curve."""
    model, curve, _ = train_validated(recipe, seed, bar)
    return model, curve


def train_validated(recipe: Recipe, seed: int, bar: Progress | None = None) -> tuple[nn.Module, Curve, Curve | None]:
    """`train_seed`, and the validation curve when the recipe holds data out."""
    torch.set_num_threads(1)  # one thread: the same seed gives the same floats
    torch.manual_seed(seed)
    setup = recipe.setup(seed)
    silent = Progress("", 1, enabled=False)
    curve, validation = fit_validated(
        setup.model, setup.loss_at, recipe.steps, recipe.optimizer, bar or silent, setup.validate
    )
    return setup.model, curve, validation


def train(recipe: Recipe, out_dir: Path, progress: bool = True) -> TrainingRecord:
    """Train `recipe` from its seed (trying its seeds in order until one is accepted), write its weights and
    record to out_dir, and return the record."""
    started = time.perf_counter()
    seeds = recipe.seeds
    searching = len(seeds) > 1
    outcomes: list[Outcome] = []
    for seed in seeds:
        label = f"{recipe.id} seed {seed}" if searching else recipe.id
        bar = Progress(label, recipe.steps, enabled=progress)
        bar.enabled &= bar.live or not searching  # in a log, a seed search writes one line per seed (below)
        model, curve, validation = train_validated(recipe, seed, bar)
        outcome = recipe.evaluate(model, seed, curve)
        outcomes.append(outcome)
        if searching and progress:
            found = ", ".join(f"{key} {value}" for key, value in outcome.summary.items() if key != "seed")
            print(f"{label}: {found}", file=sys.stderr)
        if outcome.accepted:
            break
    else:
        raise RuntimeError(f"{recipe.id}: no seed in {seeds} gives what the recipe wants")
    trained = TrainingRecord(
        id=recipe.id,
        family=recipe.family,
        title=recipe.title,
        description=recipe.description,
        config=recipe.config_dict(),
        seed=seed,
        init=recipe.init,
        data=outcome.data,
        optimizer=recipe.optimizer,
        loss=recipe.loss,
        epochs=recipe.steps,
        loss_curve=curve,
        validation_curve=validation,
        metrics=outcome.metrics,
        trained_at=record.now(),
        duration_s=round(time.perf_counter() - started, 2),
        torch_version=record.torch_version(),
        command=recipe.command(),
        extra={**recipe.seed_search(outcomes), **outcome.extra},
    )
    record.save(model, trained, out_dir)
    return trained
