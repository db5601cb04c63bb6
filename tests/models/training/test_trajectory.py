"""The training trajectory: which steps are kept (the first, the last, denser where the loss falls fastest), that
each saved checkpoint is exactly the weights training had at that step, and what the shipped models carry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn

from models.registry import WEIGHTS_DIR, saved_checkpoints
from models.training import recipes, trajectory
from models.training.loop import Fit, fit, train
from models.training.progress import Progress
from tests.models.training.test_loop import X, Y, line_recipe, mse_of

SILENT = Progress("", 1, enabled=False)
BUDGET = 25 * 10**6  # bytes: every shipped trajectory together, in the repository


def test_choose_keeps_the_first_and_the_last_and_n_steps_in_order() -> None:
    steps = list(range(0, 1001, 10))
    losses = [1.0 / (1 + s) for s in steps]
    chosen = trajectory.choose(steps, losses, 20)
    assert len(chosen) == len(set(chosen)) == 20
    assert chosen[0] == 0
    assert chosen[-1] == 1000
    assert chosen == sorted(chosen)
    assert trajectory.choose(steps[:5], losses[:5], 20) == steps[:5]  # fewer steps than asked: all of them


def test_choose_is_denser_where_the_loss_falls_fastest() -> None:
    steps = list(range(0, 1001))
    falls_late = [1.0 if s < 600 else (0.0 if s > 700 else 1.0 - (s - 600) / 100) for s in steps]
    chosen = trajectory.choose(steps, falls_late, 40)
    in_the_fall = sum(600 <= s <= 700 for s in chosen)
    assert in_the_fall >= 40 * trajectory.PROGRESS_BY_LOSS  # half the marks lie where the loss falls: 10% of the steps
    flat = trajectory.choose(steps, [1.0] * len(steps), 11)
    assert flat == list(range(0, 1001, 100))  # a flat loss: evenly spaced in steps


def test_candidates_are_fewer_for_a_large_model() -> None:
    assert len(trajectory.candidate_steps(6000, 1000)) == trajectory.MAX_CANDIDATES + 1  # and step 0
    big = trajectory.candidate_steps(800, 10 * 2**20)
    assert big[0] == 0
    assert big[-1] == 800
    assert len(big) == trajectory.CANDIDATE_BYTES // (10 * 2**20) + 1
    assert trajectory.candidate_steps(30, 100) == list(range(31))


def test_every_checkpoint_is_the_weights_training_had_at_that_step(tmp_path: Path) -> None:
    recipe = line_recipe(accepts=7)
    record = train(recipe, tmp_path, progress=False).to_json()
    listed = record["trajectory"]["checkpoints"]
    epochs = [c["epoch"] for c in listed]
    assert epochs[0] == 0
    assert epochs[-1] == recipe.steps
    assert len(epochs) == min(recipe.checkpoints, recipe.steps + 1)
    final = load_file(str(tmp_path / "line.safetensors"))
    for entry in listed:
        step = entry["epoch"]
        saved = final if step == recipe.steps else trajectory.load(tmp_path, "line", step)
        torch.manual_seed(7)
        replay = recipe.setup(7).model
        fit(replay, mse_of(replay), step, recipe.optimizer, SILENT)
        torch.testing.assert_close(saved, replay.state_dict(), rtol=0, atol=0)
        with torch.no_grad():
            line = nn.Linear(1, 1)
            line.load_state_dict(saved)
            mse = torch.mean((line(X) - Y) ** 2).item()
        if step < recipe.steps:
            assert entry["loss"] == pytest.approx(mse, rel=1e-6)  # the loss the next step measured on these weights
        else:
            assert entry["loss"] is None  # no step came after the last to measure it


def shipped() -> list[str]:
    known = recipes()
    return [path.stem for path in sorted(WEIGHTS_DIR.glob("*.json")) if path.stem in known]


@pytest.mark.parametrize("model_id", shipped())
def test_every_model_trained_here_ships_its_trajectory(model_id: str) -> None:
    record = json.loads((WEIGHTS_DIR / f"{model_id}.json").read_text())
    epochs = saved_checkpoints(record)
    assert epochs[0] == 0
    assert epochs[-1] == record["epochs"]
    assert epochs == sorted(set(epochs))
    assert len(epochs) == recipes()[model_id].checkpoints
    final = load_file(str(WEIGHTS_DIR / f"{model_id}.safetensors"))
    with safe_open(str(WEIGHTS_DIR / record["trajectory"]["file"]), framework="pt") as stored:
        keys = set(stored.keys())
    assert keys == {f"{e}/{name}" for e in epochs[:-1] for name in final}  # every step but the last, whole
    for epoch in (epochs[0], epochs[len(epochs) // 2]):
        saved = trajectory.load(WEIGHTS_DIR, model_id, epoch)
        assert {k: (v.dtype, v.shape) for k, v in saved.items()} == {k: (v.dtype, v.shape) for k, v in final.items()}
        assert all(v.dtype == torch.float32 for v in saved.values())  # full precision, as trained
        assert any(not torch.equal(saved[k], final[k]) for k in final)


def test_the_shipped_trajectories_stay_under_25_mb() -> None:
    total = sum(path.stat().st_size for path in WEIGHTS_DIR.glob("*.checkpoints.safetensors"))
    assert 0 < total < BUDGET


@pytest.mark.parametrize("model_id", ["textnet-2d-sgd", "sqrt-mlp-2x2"])
def test_a_small_models_checkpoints_are_its_training_replayed(model_id: str) -> None:
    """Train the recipe again from its seed and compare the weights at each saved step: step 0 is the init."""
    recipe = recipes()[model_id]
    record = json.loads((WEIGHTS_DIR / f"{model_id}.json").read_text())
    epochs = saved_checkpoints(record)[:-1]
    torch.set_num_threads(1)
    torch.manual_seed(record["seed"])
    setup = recipe.setup(record["seed"])
    assert epochs[0] == 0
    torch.testing.assert_close(trajectory.load(WEIGHTS_DIR, model_id, 0), setup.model.state_dict(), rtol=0, atol=0)
    wanted = set(epochs)
    for step, _ in Fit(setup.model, setup.loss_at, recipe.steps, recipe.optimizer):
        if step in wanted:
            saved = trajectory.load(WEIGHTS_DIR, model_id, step)
            torch.testing.assert_close(saved, setup.model.state_dict(), rtol=0, atol=0)
