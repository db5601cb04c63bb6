"""The exact piecewise-linear analysis agrees with the net itself, with autograd, and with hand-built nets."""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable

import numpy as np
import pytest
import torch

from models.data import sqrt
from models.hooks import run_with_cache
from models.mlp import MLP, MLPConfig
from models.piecewise import (
    Region,
    affine_for,
    breakpoints,
    linear_regions,
    region_at,
    region_of_pass,
    within,
)
from tests import shipped


def _weights(model: MLP) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(w.double().numpy(), b.double().numpy()) for w, b in model.weights()]


def _random_net(seed: int, hidden: tuple[int, ...]) -> MLP:
    torch.manual_seed(seed)
    model = MLP(MLPConfig(hidden=hidden))
    with torch.no_grad():  # kinks spread over [-5, 5] so there are many to find
        first = model.affine_layers()[0].linear
        first.bias.copy_(-first.weight.squeeze(1) * (torch.rand(hidden[0]) * 10 - 5))
    return model.double()


def _shipped(model_id: str) -> MLP:
    """A float64 copy of a shipped net (the registry's own copy stays float32)."""
    return copy.deepcopy(shipped.mlp(model_id).module).double()


NETS = [
    pytest.param(lambda: _shipped("sqrt-mlp-2x2"), id="sqrt-mlp-2x2"),
    pytest.param(lambda: _shipped("sqrt-mlp-16x16"), id="sqrt-mlp-16x16"),
    pytest.param(lambda: _random_net(7, (8, 6, 5)), id="random-3-hidden-layers"),
]


def _points(regions: list[Region], n: int) -> list[float]:
    gen = np.random.default_rng(0)
    return [float(x) for x in gen.uniform(-8.0, 12.0, n)] + [r.left for r in regions if math.isfinite(r.left)]


@pytest.mark.parametrize("make", NETS)
def test_the_region_formula_gives_the_net_output_at_random_points(make: Callable[[], MLP]) -> None:
    model = make()
    regions = linear_regions(_weights(model))
    for x in _points(regions, 300):
        r = region_at(regions, x)
        y = model(torch.tensor([[x]], dtype=torch.float64)).item()
        assert r.slope * x + r.intercept == pytest.approx(y, abs=1e-9)


@pytest.mark.parametrize("make", NETS)
def test_the_region_slope_is_the_autograd_derivative(make: Callable[[], MLP]) -> None:
    model = make()
    regions = linear_regions(_weights(model))
    gen = np.random.default_rng(1)
    for x in gen.uniform(-8.0, 12.0, 200):
        xt = torch.tensor([[float(x)]], dtype=torch.float64, requires_grad=True)
        model(xt).sum().backward()
        assert xt.grad is not None
        assert region_at(regions, float(x)).slope == pytest.approx(xt.grad.item(), abs=1e-9)


@pytest.mark.parametrize("make", NETS)
def test_the_on_off_pattern_is_the_sign_of_each_z(make: Callable[[], MLP]) -> None:
    model = make()
    regions = linear_regions(_weights(model))
    n_hidden = len(model.config.hidden)
    for x in np.random.default_rng(2).uniform(-8.0, 12.0, 100):
        _, cache = run_with_cache(model, torch.tensor([[float(x)]], dtype=torch.float64))
        pattern = tuple(tuple(bool(v > 0) for v in cache[f"layers.{i}.hook_z"][0]) for i in range(n_hidden))
        assert region_at(regions, float(x)).active == pattern


@pytest.mark.parametrize("make", NETS)
def test_at_each_breakpoint_the_switching_units_cross_zero(make: Callable[[], MLP]) -> None:
    model = make()
    points = breakpoints(linear_regions(_weights(model)))
    assert points, "every net here has at least one breakpoint"
    for p in points:
        assert p.switched
        _, cache = run_with_cache(model, torch.tensor([[p.x]], dtype=torch.float64))
        for layer, unit in p.switched:
            assert cache[f"layers.{layer}.hook_z"][0, unit].item() == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("make", NETS)
def test_regions_tile_the_line_without_gaps_and_neighbours_differ(make: Callable[[], MLP]) -> None:
    regions = linear_regions(_weights(make()))
    assert regions[0].left == -math.inf
    assert regions[-1].right == math.inf
    for before, after in itertools.pairwise(regions):
        assert before.right == after.left
        assert before.left < before.right
        assert before.active != after.active


def test_a_hand_built_net_has_exactly_the_kinks_put_there() -> None:
    # y = ReLU(x - 2) + ReLU(x - 5): flat, then slope 1 from x = 2, then slope 2 from x = 5.
    weights = [(np.array([[1.0], [1.0]]), np.array([-2.0, -5.0])), (np.array([[1.0, 1.0]]), np.array([0.0]))]
    regions = linear_regions(weights)
    assert [(r.left, r.right, r.slope, r.intercept) for r in regions] == [
        (-math.inf, 2.0, 0.0, 0.0),
        (2.0, 5.0, 1.0, -2.0),
        (5.0, math.inf, 2.0, -7.0),
    ]
    assert [(p.x, p.switched, p.is_kink) for p in breakpoints(regions)] == [
        (2.0, ((0, 0),), True),
        (5.0, ((0, 1),), True),
    ]


def test_a_unit_that_switches_without_effect_is_a_breakpoint_but_not_a_kink() -> None:
    # the second unit switches at x = 3 but its outgoing weight is 0
    weights = [(np.array([[1.0], [1.0]]), np.array([0.0, -3.0])), (np.array([[1.0, 0.0]]), np.array([0.0]))]
    points = breakpoints(linear_regions(weights, 1.0, 10.0))
    assert [(p.x, p.is_kink) for p in points] == [(3.0, False)]


def test_region_at_a_breakpoint_is_the_region_to_its_right() -> None:
    weights = [(np.array([[1.0]]), np.array([-2.0])), (np.array([[1.0]]), np.array([0.0]))]
    regions = linear_regions(weights, 0.0, 10.0)
    assert region_at(regions, 2.0).slope == 1.0
    assert region_at(regions, 10.0).right == 10.0
    with pytest.raises(ValueError, match="outside the analysed interval"):
        region_at(regions, 10.5)


def test_within_clips_the_regions_to_the_domain() -> None:
    weights = [(np.array([[1.0]]), np.array([-2.0])), (np.array([[1.0]]), np.array([0.0]))]
    clipped = within(linear_regions(weights), 0.0, 10.0)
    assert [(r.left, r.right) for r in clipped] == [(0.0, 2.0), (2.0, 10.0)]


@pytest.mark.parametrize("model_id", ["sqrt-mlp-2x2", "sqrt-mlp-16x16"])
def test_the_exact_max_error_bounds_a_dense_grid_and_is_reached(model_id: str) -> None:
    model = _shipped(model_id)
    regions = linear_regions(_weights(model))
    exact = sqrt.max_abs_error(regions, 0.0, 10.0)
    grid = torch.linspace(0.0, 10.0, 200_001, dtype=torch.float64).unsqueeze(1)
    with torch.no_grad():
        errors = (model(grid) - torch.sqrt(grid)).abs()
    assert errors.max().item() <= exact + 1e-9
    assert errors.max().item() == pytest.approx(exact, abs=1e-4)


@pytest.mark.parametrize("make", NETS)
def test_each_regions_pattern_maps_back_to_its_formula(make: Callable[[], MLP]) -> None:
    weights = _weights(make())
    for r in linear_regions(weights):
        assert affine_for(weights, r.active) == pytest.approx((r.slope, r.intercept), abs=1e-12)


def test_units_whose_roots_are_one_ulp_apart_each_switch_at_their_own_root() -> None:
    beside = float(np.nextafter(3.0, 4.0))
    weights = [(np.array([[1.0], [1.0]]), np.array([-3.0, -beside])), (np.array([[1.0, 1.0]]), np.array([0.0]))]
    regions = linear_regions(weights)
    assert [r.active for r in regions] == [((False, False),), ((True, False),), ((True, True),)]
    assert [(p.x, p.switched) for p in breakpoints(regions)] == [(3.0, ((0, 0),)), (beside, ((0, 1),))]


def test_a_unit_whose_root_is_far_out_is_on_where_its_slope_says() -> None:
    # z = -1e-20·x - 1 is positive only for x < -1e20
    weights = [(np.array([[-1e-20]]), np.array([-1.0])), (np.array([[1.0]]), np.array([0.0]))]
    first, second = linear_regions(weights)
    assert (first.right, first.active, first.slope) == (-1e20, ((True,),), -1e-20)
    assert (second.active, second.slope) == (((False,),), 0.0)


def test_region_of_pass_follows_the_pattern_the_pass_saw_at_a_breakpoint() -> None:
    weights = [(np.array([[1.0]]), np.array([-2.0])), (np.array([[1.0]]), np.array([0.0]))]
    regions = linear_regions(weights)
    assert region_of_pass(regions, weights, 2.0, ((False,),)) == regions[0]
    assert region_of_pass(regions, weights, 2.0, ((True,),)) == regions[1]


def test_region_of_pass_falls_back_to_the_passs_own_formula_for_an_unseen_pattern() -> None:
    weights = [(np.array([[1.0], [1.0]]), np.array([-3.0, -5.0])), (np.array([[1.0, 2.0]]), np.array([0.0]))]
    regions = linear_regions(weights)
    odd = ((False, True),)  # unit 1 on while unit 0 is off: no x gives this
    assert region_of_pass(regions, weights, 4.0, odd) == Region(4.0, 4.0, 2.0, -10.0, odd)


def test_region_at_rejects_nan() -> None:
    weights = [(np.array([[1.0]]), np.array([-2.0])), (np.array([[1.0]]), np.array([0.0]))]
    with pytest.raises(ValueError, match="outside"):
        region_at(linear_regions(weights), math.nan)
