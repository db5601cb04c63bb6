"""Hook points are identities with names from the module tree, and run_with_cache captures them all."""

from __future__ import annotations

import pytest
import torch

from models.hooks import HookPoint, hook_names, run_with_cache
from models.mlp import MLP, MLPConfig, ReLULayer


def test_a_hook_point_returns_its_input_unchanged() -> None:
    x = torch.randn(3, 4)
    assert torch.equal(HookPoint()(x), x)


def test_mlp_hook_names_are_pinned_because_they_are_json_keys() -> None:
    names = hook_names(MLP(MLPConfig(hidden=(3, 5))))
    assert names == ["layers.0.hook_z", "layers.0.hook_a", "layers.1.hook_z", "layers.1.hook_a", "layers.2.hook_z"]


def test_run_with_cache_captures_every_hook_in_the_order_it_was_computed() -> None:
    model = MLP(MLPConfig(hidden=(3, 5)))
    x = torch.tensor([[2.0]])
    out, cache = run_with_cache(model, x)
    assert list(cache) == hook_names(model)
    assert torch.equal(cache["layers.2.hook_z"], out)
    assert cache["layers.1.hook_a"].shape == (1, 5)


def test_run_with_cache_can_capture_only_the_named_hooks() -> None:
    model = MLP(MLPConfig())
    _, cache = run_with_cache(model, torch.tensor([[1.0]]), names=["layers.1.hook_a"])
    assert list(cache) == ["layers.1.hook_a"]


def test_an_unknown_hook_name_is_rejected_with_the_known_names() -> None:
    with pytest.raises(KeyError, match=r"layers\.nope.*Known: layers\.0\.hook_z"):
        run_with_cache(MLP(MLPConfig()), torch.tensor([[1.0]]), names=["layers.nope"])


def test_capture_leaves_no_hook_behind_and_no_gradient_graph() -> None:
    model = MLP(MLPConfig())
    out, cache = run_with_cache(model, torch.tensor([[1.0]]))
    assert all(not m._forward_hooks for m in model.modules())
    before = {name: value.clone() for name, value in cache.items()}
    model(torch.tensor([[7.0]]))  # a plain pass afterwards writes nowhere
    assert all(torch.equal(cache[name], value) for name, value in before.items())
    assert not out.requires_grad
    assert not any(v.requires_grad for v in cache.values())


def test_a_failed_pass_leaves_no_hook_point_capturing() -> None:
    model = MLP(MLPConfig())
    with pytest.raises(RuntimeError):
        run_with_cache(model, torch.ones(1, 3))  # the first layer takes 1 feature
    assert run_with_cache(model, torch.ones(1, 1))[1].keys() == set(hook_names(model))


def test_a_submodule_captured_alone_uses_its_own_names_and_the_whole_model_keeps_its_own() -> None:
    model = MLP(MLPConfig(hidden=(3, 5)))
    layer = model.layers[1]
    assert isinstance(layer, ReLULayer)
    _, alone = run_with_cache(layer, torch.ones(1, 3))
    assert list(alone) == ["hook_z", "hook_a"]
    _, whole = run_with_cache(model, torch.tensor([[2.0]]))
    assert list(whole) == hook_names(model)
    assert torch.equal(whole["layers.1.hook_z"], layer.linear(whole["layers.0.hook_a"]))
