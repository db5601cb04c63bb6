"""The MLP computes z = W·a + b then a = ReLU(z), layer by layer: recomputed from each step's input."""

from __future__ import annotations

import itertools

import numpy as np
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


def _recomputed(model_id: str, xs: list[float]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Every hidden layer's (z, a) at xs, recomputed from the weights in float64: z = W·a + b, a = ReLU(z)."""
    a = torch.tensor(xs, dtype=torch.float64).unsqueeze(1)  # [points, 1]
    layers = []
    for W, b in shipped.mlp(model_id).module.weights()[:-1]:
        z = a @ W.double().T + b.double()  # [points, width]
        a = torch.clamp(z, min=0.0)
        layers.append((z, a))
    return layers


@pytest.mark.parametrize("model_id", ["sqrt-mlp-2x2", "sqrt-mlp-16x16"])
def test_there_is_one_unit_curve_per_hidden_unit_in_layer_order(model_id: str) -> None:
    model = shipped.mlp(model_id)
    hidden = model.module.config.hidden
    assert [(u.layer, u.unit) for u in model.units] == [(i, j) for i, width in enumerate(hidden) for j in range(width)]
    assert all(len(u.z) == len(u.a) == len(model.curve) for u in model.units)


@pytest.mark.parametrize("model_id", ["sqrt-mlp-2x2", "sqrt-mlp-16x16"])
def test_each_units_curve_is_its_activation_recomputed_from_the_weights(model_id: str) -> None:
    model = shipped.mlp(model_id)
    xs = [x for x, _ in model.curve]
    # At the curve's own points, and between them, where the unit must be the straight line joining them.
    samples = sorted({*xs, *(x0 + t * (x1 - x0) for x0, x1 in itertools.pairwise(xs) for t in (0.2, 0.5, 0.9))})
    layers = _recomputed(model_id, samples)
    for u in model.units:
        z, a = layers[u.layer][0][:, u.unit].numpy(), layers[u.layer][1][:, u.unit].numpy()
        assert np.interp(samples, xs, u.z) == pytest.approx(z, abs=1e-9), (u.layer, u.unit)
        assert np.interp(samples, xs, u.a) == pytest.approx(a, abs=1e-9), (u.layer, u.unit)


@pytest.mark.parametrize("model_id", ["sqrt-mlp-2x2", "sqrt-mlp-16x16"])
def test_the_unit_curves_agree_with_the_models_own_float32_pass(model_id: str) -> None:
    model = shipped.mlp(model_id)
    for k, (x, _) in enumerate(model.curve):
        _, cache = model.run_with_cache(x)
        for u in model.units:
            assert cache[f"layers.{u.layer}.hook_a"][u.unit].item() == pytest.approx(u.a[k], abs=1e-5)


@pytest.mark.parametrize("model_id", ["sqrt-mlp-2x2", "sqrt-mlp-16x16"])
def test_each_switch_point_makes_that_units_z_zero_and_flips_it_the_way_it_says(model_id: str) -> None:
    model = shipped.mlp(model_id)
    lo, hi = model.domain
    switching = [u for u in model.units if u.switches]
    assert switching, "a net with kinks has units that switch"
    for u in switching:
        for s in u.switches:
            assert lo < s.x < hi
            assert model.domain_breakpoints[s.breakpoint].x == s.x
            assert (u.layer, u.unit) in model.domain_breakpoints[s.breakpoint].switched
            eps = 1e-6 * max(1.0, abs(s.x))
            (z_left, z_at, z_right) = _recomputed(model_id, [s.x - eps, s.x, s.x + eps])[u.layer][0][:, u.unit].tolist()
            assert z_at == pytest.approx(0.0, abs=1e-9), (u.layer, u.unit, s.x)
            assert (z_left < 0 < z_right) if s.turns_on else (z_left > 0 > z_right), (u.layer, u.unit, s.x)


@pytest.mark.parametrize("model_id", ["sqrt-mlp-2x2", "sqrt-mlp-16x16"])
def test_every_unit_named_at_a_breakpoint_lists_that_switch_and_no_other(model_id: str) -> None:
    model = shipped.mlp(model_id)
    named = sorted((i, layer, unit) for i, p in enumerate(model.domain_breakpoints) for layer, unit in p.switched)
    listed = sorted((s.breakpoint, u.layer, u.unit) for u in model.units for s in u.switches)
    assert listed == named
    for u in (u for u in model.units if not u.switches):  # one state over the whole domain
        z = _recomputed(model_id, list(np.linspace(*model.domain, 101)))[u.layer][0][:, u.unit]
        assert bool((z > 0).all()) or bool((z <= 0).all()), (u.layer, u.unit)
