"""The MLP computes z = W·a + b then a = ReLU(z), layer by layer: recomputed from each step's input."""

from __future__ import annotations

import itertools

import pytest
import torch

from models.hooks import run_with_cache
from models.mlp import MLP, MLPConfig
from tests import shipped


@pytest.mark.parametrize("model_id", ["sqrt-mlp-2x2", "sqrt-mlp-16x16"])
def test_each_layer_of_a_shipped_net_recomputes_from_the_one_before(model_id: str) -> None:
    model = shipped.mlp(model_id).module
    x = torch.linspace(-1.0, 11.0, 37).unsqueeze(1)  # [37, 1]
    out, cache = run_with_cache(model, x)
    a = x
    for i, (W, b) in enumerate(model.weights()):
        z = cache[f"layers.{i}.hook_z"]
        torch.testing.assert_close(z, a @ W.T + b)
        if f"layers.{i}.hook_a" in cache:
            a = cache[f"layers.{i}.hook_a"]
            torch.testing.assert_close(a, torch.clamp(z, min=0.0))
    torch.testing.assert_close(out, z)


def test_the_output_layer_is_linear_so_y_can_go_negative() -> None:
    model = MLP(MLPConfig(hidden=(2,)))
    with torch.no_grad():
        for layer in model.affine_layers():
            layer.linear.weight.fill_(1.0)
            layer.linear.bias.fill_(0.0)
        model.affine_layers()[-1].linear.bias.fill_(-5.0)
    assert model(torch.tensor([[1.0]])).item() == pytest.approx(2.0 - 5.0)


def test_config_round_trips_through_the_json_record() -> None:
    config = MLPConfig(hidden=(16, 16))
    assert MLPConfig(**config.to_dict()) == config
    assert config.widths == [1, 16, 16, 1]


@pytest.mark.parametrize("model_id", ["sqrt-mlp-2x2", "sqrt-mlp-16x16"])
def test_the_curve_is_the_models_output_at_the_domain_ends_and_every_breakpoint(model_id: str) -> None:
    model = shipped.mlp(model_id)
    lo, hi = model.domain
    xs = [x for x, _ in model.curve]
    assert xs == [lo, *sorted(p.x for p in model.domain_breakpoints), hi]
    assert all(a < b for a, b in itertools.pairwise(xs))
    for x, y in model.curve:
        assert y == pytest.approx(model.run_with_cache(x)[0], rel=1e-6, abs=1e-6), x


@pytest.mark.parametrize("model_id", ["sqrt-mlp-2x2", "sqrt-mlp-16x16"])
def test_between_two_curve_points_the_model_is_a_straight_line(model_id: str) -> None:
    model = shipped.mlp(model_id)
    # A few float32 ulps at y ≈ 3; skipping any one kink of these nets puts a midpoint 3.6e-5 or more off the line.
    for (x0, y0), (x1, y1) in itertools.pairwise(model.curve):
        for t in (0.25, 0.5, 0.75):
            y, _ = model.run_with_cache(x0 + t * (x1 - x0))
            assert y == pytest.approx(y0 + t * (y1 - y0), abs=4e-6), (x0, x1, t)
