"""Training is reproducible and its record tells the truth about the shipped weights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from models.registry import WEIGHTS_DIR
from models.train import main
from models.training.mlp import RECIPES, MLPRecipe, sqrt_metrics
from tests import shipped


def _record(model_id: str) -> dict:  # type: ignore[type-arg]
    return json.loads((WEIGHTS_DIR / f"{model_id}.json").read_text())  # type: ignore[no-any-return]


@pytest.mark.slow
def test_retraining_the_small_net_from_scratch_lands_on_its_record(tmp_path: Path) -> None:
    assert main(["sqrt-mlp-2x2", "--out", str(tmp_path)]) == 0
    fresh = json.loads((tmp_path / "sqrt-mlp-2x2.json").read_text())
    shipped = _record("sqrt-mlp-2x2")
    for name in ("n_regions", "n_breakpoints", "n_kinks"):
        assert fresh["metrics"][name] == shipped["metrics"][name], name
    for name in ("final_mse", "max_abs_error_0_10", "max_abs_error_1_10"):
        assert fresh["metrics"][name] == pytest.approx(shipped["metrics"][name], rel=1e-3), name
    assert fresh["data"]["samples"] == shipped["data"]["samples"]
    fresh_weights = load_file(str(tmp_path / "sqrt-mlp-2x2.safetensors"))
    shipped_weights = load_file(str(WEIGHTS_DIR / "sqrt-mlp-2x2.safetensors"))
    # On our machines the file is byte-identical; the tolerance spares a CPU with other vector code.
    torch.testing.assert_close(fresh_weights, shipped_weights, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("model_id", sorted(RECIPES))
def test_each_record_holds_how_the_weights_were_trained(model_id: str) -> None:
    record = _record(model_id)
    recipe = RECIPES[model_id]
    assert isinstance(recipe, MLPRecipe)
    assert record["config"] == recipe.config.to_dict()
    assert record["seed"] in recipe.seeds
    assert record["epochs"] == recipe.steps
    assert record["optimizer"]["lr"] == recipe.optimizer.lr
    assert record["data"]["n_samples"] == len(record["data"]["samples"]) == recipe.n_samples
    epochs = [epoch for epoch, _ in record["loss_curve"]]
    assert epochs[0] == 1
    assert epochs[-1] == recipe.steps
    assert epochs == sorted(epochs)
    assert record["command"] == f"python -m models.train {model_id}"
    assert record["trained_at"]


@pytest.mark.parametrize("model_id", sorted(RECIPES))
def test_recorded_metrics_are_those_of_the_shipped_weights(model_id: str) -> None:
    recomputed = sqrt_metrics(shipped.mlp(model_id).module)
    recorded = _record(model_id)["metrics"]
    assert recomputed == {k: pytest.approx(recorded[k], rel=1e-9) for k in recomputed}


def test_the_wide_net_meets_the_accuracy_targets() -> None:
    metrics = sqrt_metrics(shipped.mlp("sqrt-mlp-16x16").module)
    assert metrics["max_abs_error_1_10"] <= 0.03
    assert metrics["max_abs_error_0_10"] <= 0.1


def test_the_small_net_is_the_articles_visibly_imperfect_one() -> None:
    metrics = sqrt_metrics(shipped.mlp("sqrt-mlp-2x2").module)
    assert 1 <= metrics["n_kinks"] <= 4
    assert metrics["max_abs_error_0_10"] > 0.1


def test_the_recorded_final_mse_is_the_mse_on_the_recorded_samples() -> None:
    record = _record("sqrt-mlp-16x16")
    x = torch.tensor(record["data"]["samples"]).unsqueeze(1)
    with torch.no_grad():
        mse = torch.mean((shipped.mlp("sqrt-mlp-16x16").module(x) - torch.sqrt(x)) ** 2).item()
    assert mse == pytest.approx(record["metrics"]["final_mse"], rel=0.05)  # samples are stored rounded to 4 places
