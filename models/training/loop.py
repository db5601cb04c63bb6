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
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from models.training import record, trajectory
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
        return torch.optim.SGD(params, lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay)
    if spec.name == "Adam":
        return torch.optim.Adam(params, lr=spec.lr, weight_decay=spec.weight_decay)
    return torch.optim.AdamW(params, lr=spec.lr, weight_decay=spec.weight_decay)


def keeps_validation(step: int, steps: int) -> bool:
    """Whether the held-out loss is measured after `step`: VALIDATION_POINTS evenly spaced steps, ending on the last."""
    return step % max(1, steps // VALIDATION_POINTS) == 0


def fit(model: nn.Module, loss_at: LossAt, steps: int, spec: Optimizer, progress: Progress) -> Curve:
    """Train `model` for `steps` steps of `loss_at(step)`; returns the loss curve, [step, loss] pairs."""
    return fit_validated(model, loss_at, steps, spec, progress, None)[0]


class Fit:
    """One run of the loop, a step at a time: iterating it takes a step and yields (step, loss), where the loss is
    the step's batch loss, measured on the weights the step before left. It keeps the loss curve and, with a
    `validate`, the validation curve; the model is back in eval mode once the last step is taken."""

    def __init__(
        self, model: nn.Module, loss_at: LossAt, steps: int, spec: Optimizer, validate: Validate | None = None
    ) -> None:
        self.model, self.loss_at, self.steps, self.validate = model, loss_at, steps, validate
        self.optimizer = optimizer_for(model, spec)
        self.schedule = (
            torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=steps)
            if spec.schedule != "constant"
            else None
        )
        self.curve: Curve = []
        self.validation: Curve | None = None if validate is None else []

    def __iter__(self) -> Iterator[tuple[int, float]]:
        model, optimizer = self.model, self.optimizer
        model.train()
        for step in range(1, self.steps + 1):
            optimizer.zero_grad()
            loss = self.loss_at(step)
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            if self.schedule is not None:
                self.schedule.step()
            value = loss.item()
            if keeps_loss(step, self.steps):
                self.curve.append([step, value])
            if self.validate is not None and self.validation is not None and keeps_validation(step, self.steps):
                model.eval()
                self.validation.append([step, self.validate()])
                model.train()
            if step == self.steps:
                model.eval()
            yield step, value
        model.eval()


def fit_validated(
    model: nn.Module,
    loss_at: LossAt,
    steps: int,
    spec: Optimizer,
    progress: Progress,
    validate: Validate | None,
    keeper: trajectory.Keeper | None = None,
) -> tuple[Curve, Curve | None]:
    """`fit`, and the held-out loss `validate()` after the steps `keeps_validation` names (None without one);
    a `keeper` copies the weights at its candidate steps (the trajectory)."""
    run = Fit(model, loss_at, steps, spec, validate)
    if keeper is not None:
        keeper.start(model)
    for step, loss in run:
        if keeper is not None:
            keeper.after(step, loss, model)
        progress.update(step, loss)
    return run.curve, run.validation


def train_seed(recipe: Recipe, seed: int, bar: Progress | None = None) -> tuple[nn.Module, Curve]:
    """The recipe's model trained from `seed` (in eval mode), and its loss curve."""
    model, curve, _ = train_validated(recipe, seed, bar)
    return model, curve


def train_validated(
    recipe: Recipe, seed: int, bar: Progress | None = None, keeper: trajectory.Keeper | None = None
) -> tuple[nn.Module, Curve, Curve | None]:
    """`train_seed`, and the validation curve when the recipe holds data out."""
    torch.set_num_threads(1)  # one thread: the same seed gives the same floats
    torch.manual_seed(seed)
    setup = recipe.setup(seed)
    silent = Progress("", 1, enabled=False)
    curve, validation = fit_validated(
        setup.model, setup.loss_at, recipe.steps, recipe.optimizer, bar or silent, setup.validate, keeper
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
        keeper = trajectory.Keeper(recipe.steps)
        model, curve, validation = train_validated(recipe, seed, bar, keeper)
        outcome = recipe.evaluate(model, seed, curve)
        outcomes.append(outcome)
        if searching and progress:
            found = ", ".join(f"{key} {value}" for key, value in outcome.summary.items() if key != "seed")
            print(f"{label}: {found}", file=sys.stderr)
        if outcome.accepted:
            break
    else:
        raise RuntimeError(f"{recipe.id}: no seed in {seeds} gives what the recipe wants")
    trained = recorded(recipe, seed, outcome, curve, validation, started, outcomes)
    record.save(model, trained, out_dir)
    chosen = keeper.chosen(recipe.checkpoints)
    trained = replace(trained, trajectory=trajectory.save(keeper, chosen, out_dir, recipe.id))
    record.save(model, trained, out_dir)
    return trained


def recorded(
    recipe: Recipe,
    seed: int,
    outcome: Outcome,
    curve: Curve,
    validation: Curve | None,
    started: float,
    outcomes: list[Outcome],
) -> TrainingRecord:
    """The record of a run of `recipe` from `seed` that began at `started` (perf_counter), without its trajectory."""
    return TrainingRecord(
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
