"""The one training loop: which steps its loss curve keeps, its progress bar, how `fit` moves weights and what
`train` writes; and that every shipped model has a recipe of a registered family."""

from __future__ import annotations

import copy
import io
import itertools
import json
import math
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from models.families import FAMILIES
from models.registry import WEIGHTS_DIR
from models.training import loop, recipes
from models.training.loop import fit, keeps_loss, optimizer_for, train, train_seed
from models.training.progress import Progress
from models.training.recipe import LossAt, Outcome, Recipe, Setup
from models.training.record import Optimizer

SILENT = Progress("", 1, enabled=False)
X = torch.linspace(-1.0, 1.0, 16).unsqueeze(1)  # [16, 1]
Y = 2 * X + 1  # the line every tiny problem here fits


def mse_of(model: nn.Module) -> LossAt:
    return lambda _step: torch.mean((model(X) - Y) ** 2)


def line_loss(model: nn.Module) -> float:
    with torch.no_grad():
        return float(torch.mean((model(X) - Y) ** 2))


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("steps", [100, 500, 3000, 4000, 6000])
def test_the_curve_keeps_step_1_and_100_evenly_spaced_steps_ending_on_the_last(steps: int) -> None:
    kept = [step for step in range(1, steps + 1) if keeps_loss(step, steps)]
    assert kept[0] == 1
    assert kept[-1] == steps
    assert len(kept) in (100, 101)  # 1 is one of the hundred when steps is 100
    assert {b - a for a, b in itertools.pairwise(kept[1:])} == {steps // 100}


@pytest.mark.parametrize("steps", [250, 777, 4321])
def test_any_other_number_of_steps_keeps_about_100_of_them(steps: int) -> None:
    kept = [step for step in range(1, steps + 1) if keeps_loss(step, steps)]
    assert kept[0] == 1
    assert 90 <= len(kept) <= 130


def test_a_log_gets_one_line_per_tenth_with_the_label_the_step_and_the_loss() -> None:
    stream = io.StringIO()
    bar = Progress("tiny-gpt", 1000, stream)
    for step in range(1, 1001):
        bar.update(step, 1 / step)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10
    for tenth, line in enumerate(lines, start=1):
        step = 100 * tenth
        assert line.startswith("tiny-gpt [")
        assert f" {step}/1000 " in line
        assert f"loss {1 / step:.4g} " in line


def test_a_disabled_bar_writes_nothing() -> None:
    stream = io.StringIO()
    bar = Progress("quiet", 10, stream, enabled=False)
    for step in range(1, 11):
        bar.update(step, 0.5)
    assert stream.getvalue() == ""


def test_on_a_terminal_the_bar_is_redrawn_in_place_and_ends_with_a_newline() -> None:
    stream = TTY()
    bar = Progress("live", 20, stream)
    for step in range(1, 21):
        bar.update(step, 0.25)
    out = stream.getvalue()
    assert out.startswith("\r")
    assert out.endswith("\n")
    assert out.count("\r") == 20  # every step redraws the one line
    assert out.count("\n") == 1
    assert f"[{'#' * 30}] 20/20 " in out.rsplit("\r", 1)[1]


def test_fit_lowers_the_loss_and_its_first_point_is_the_untrained_models_loss() -> None:
    torch.manual_seed(0)
    model = nn.Linear(1, 1)
    untrained = line_loss(model)
    curve = fit(model, mse_of(model), 30, Optimizer("SGD", lr=0.1), SILENT)
    assert curve[0] == [1, pytest.approx(untrained, rel=1e-6)]
    assert curve[-1][0] == 30
    assert curve[-1][1] < untrained / 100
    assert line_loss(model) < curve[-1][1]  # the curve's loss is the one before its step's update
    assert not model.training


@pytest.mark.parametrize("step", [2, 10, 50])
def test_each_curve_point_is_the_loss_after_the_steps_before_it(step: int) -> None:
    torch.manual_seed(0)
    model = nn.Linear(1, 1)
    replay = copy.deepcopy(model)
    curve = {int(s): loss for s, loss in fit(model, mse_of(model), 50, Optimizer("SGD", lr=0.1), SILENT)}
    fit(replay, mse_of(replay), step - 1, Optimizer("SGD", lr=0.1), SILENT)  # a constant lr: the same first steps
    assert curve[step] == pytest.approx(line_loss(replay), rel=1e-6)


def moves_of_w(steps: int, spec: Optimizer) -> list[float]:
    """How far each step of `fit` moves w when the loss is w itself: its gradient is 1, so an SGD step moves w by
    exactly the learning rate it used."""
    model = nn.Linear(1, 1, bias=False).double()
    nn.init.zeros_(model.weight)
    seen: list[float] = []

    def loss_at(_step: int) -> torch.Tensor:
        seen.append(float(model.weight.detach()))
        return model.weight.sum()

    fit(model, loss_at, steps, spec, SILENT)
    seen.append(float(model.weight.detach()))
    return [a - b for a, b in itertools.pairwise(seen)]


def test_a_constant_schedule_moves_by_the_learning_rate_at_every_step() -> None:
    assert moves_of_w(20, Optimizer("SGD", lr=0.5)) == pytest.approx([0.5] * 20, abs=1e-12)


def test_the_cosine_schedule_decays_the_learning_rate_along_half_a_cosine_to_0(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[torch.optim.Optimizer] = []

    def kept(model: nn.Module, spec: Optimizer) -> torch.optim.Optimizer:
        made.append(optimizer_for(model, spec))
        return made[-1]

    monkeypatch.setattr(loop, "optimizer_for", kept)
    steps, lr = 100, 0.5
    moves = moves_of_w(steps, Optimizer("SGD", lr=lr, schedule="cosine decay to 0"))
    assert moves == pytest.approx([lr * (1 + math.cos(math.pi * s / steps)) / 2 for s in range(steps)], abs=1e-12)
    assert moves[-1] < moves[0] / 1000  # the last step barely moves
    assert made[0].param_groups[0]["lr"] == pytest.approx(0, abs=1e-12)  # and the schedule ends at 0


@dataclass(frozen=True)
class LineConfig:
    d_in: int = 1
    d_out: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class LineRecipe(Recipe):
    """y = 2x + 1 with a 1→1 linear model; it keeps only the seed `accepts`."""

    family = "line"
    accepts: int | None
    config: LineConfig = field(default_factory=LineConfig)
    loss: str = "mean squared error"

    def setup(self, seed: int) -> Setup:
        model = nn.Linear(1, 1)
        return Setup(model, mse_of(model))

    def evaluate(self, model: nn.Module, seed: int, curve: list[list[float]]) -> Outcome:
        return Outcome(
            metrics={"mse": line_loss(model)},
            data={"target": "y = 2x + 1", "n_samples": len(X)},
            extra={"kept_because": f"seed {seed} was wanted"},
            accepted=seed == self.accepts,
            summary={"seed": seed},
        )

    def seed_search(self, outcomes: list[Outcome]) -> dict[str, Any]:
        return {"seeds_tried": [o.summary["seed"] for o in outcomes]}


def line_recipe(accepts: int | None) -> LineRecipe:
    return LineRecipe(
        id="line", title="A line", description="y = 2x + 1", seeds=(3, 7), steps=50,
        optimizer=Optimizer("SGD", lr=0.1), accepts=accepts,
    )  # fmt: skip


def test_train_writes_the_accepted_seeds_weights_and_a_record_with_the_recipes_extras(tmp_path: Path) -> None:
    recipe = line_recipe(accepts=7)
    started = datetime.now(UTC).replace(microsecond=0)
    train(recipe, tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "line.checkpoints.safetensors",
        "line.json",
        "line.safetensors",
    ]
    record = json.loads((tmp_path / "line.json").read_text())
    common = {"id", "family", "title", "description", "config", "seed", "init", "data", "optimizer", "loss", "epochs",
              "loss_curve", "metrics", "trained_at", "duration_s", "torch_version", "command"}  # fmt: skip
    assert set(record) == common | {"seeds_tried", "kept_because", "trajectory"}
    assert (record["id"], record["family"], record["title"]) == ("line", "line", "A line")
    assert (record["seed"], record["seeds_tried"], record["kept_because"]) == (7, [3, 7], "seed 7 was wanted")
    assert record["config"] == {"d_in": 1, "d_out": 1}
    assert record["init"] == "PyTorch defaults"
    assert record["data"] == {"target": "y = 2x + 1", "n_samples": 16}
    assert record["optimizer"] == {"name": "SGD", "lr": 0.1, "momentum": 0.0, "batch": "full", "schedule": "constant",
                                   "weight_decay": 0.0}  # fmt: skip
    assert (record["loss"], record["epochs"]) == ("mean squared error", 50)
    assert [step for step, _ in record["loss_curve"]] == list(range(1, 51))  # under 100 steps: every one
    assert started <= datetime.fromisoformat(record["trained_at"]) <= datetime.now(UTC)
    assert record["duration_s"] >= 0
    assert record["torch_version"] == torch.__version__
    assert record["command"] == "python -m models.train line"
    weights = load_file(str(tmp_path / "line.safetensors"))
    retrained, curve = train_seed(recipe, 7)  # the accepted seed, trained again
    torch.testing.assert_close(weights, retrained.state_dict(), rtol=0, atol=0)
    assert record["loss_curve"] == curve
    saved = nn.Linear(1, 1)
    saved.load_state_dict(weights)
    assert record["metrics"] == {"mse": pytest.approx(line_loss(saved), rel=1e-6)}


def test_the_curve_starts_from_the_accepted_seeds_untrained_model(tmp_path: Path) -> None:
    trained = train(line_recipe(accepts=7), tmp_path, progress=False)
    torch.manual_seed(7)
    untrained = nn.Linear(1, 1)  # what setup builds after the seed is set
    assert trained.loss_curve[0] == [1, pytest.approx(line_loss(untrained), rel=1e-6)]


def test_a_recipe_that_accepts_no_seed_is_an_error_naming_it_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=re.escape("line: no seed in (3, 7)")):
        train(line_recipe(accepts=None), tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_every_shipped_model_trained_here_has_a_recipe_of_a_registered_family() -> None:
    found = recipes()
    records = {path.stem: json.loads(path.read_text()) for path in WEIGHTS_DIR.glob("*.json")}
    shipped = {model_id: record for model_id, record in records.items() if record.get("source") != "pretrained"}
    assert len(shipped) < len(records)  # a pretrained model (MiniLM) ships, and has no recipe
    assert set(found) == set(shipped)
    for model_id, recipe in found.items():
        assert recipe.id == model_id
        assert recipe.family in FAMILIES, model_id
        assert recipe.family == shipped[model_id]["family"], model_id
