"""The MLP's API: its detail (the exact piecewise-linear analysis, the limits) and its forward pass, with every
number recomputed from the step before it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests import shipped
from tests.app.conftest import Client

MLPS = ["sqrt-mlp-2x2", "sqrt-mlp-16x16"]


def _forward(client: Client, model_id: str, x: float) -> dict:  # type: ignore[type-arg]
    response = client.post(f"/api/models/{model_id}/forward", json={"input": x})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("model_id", MLPS)
def test_the_model_detail_carries_config_hooks_training_and_analysis(client: Client, model_id: str) -> None:
    detail = client.get(f"/api/models/{model_id}").json()
    assert detail["config"]["hidden"] == list(shipped.mlp(model_id).module.config.hidden)
    assert detail["hook_names"][0] == "layers.0.hook_z"
    training = detail["training"]
    assert training["optimizer"]["name"] == "Adam"
    assert len(training["loss_curve"]) > 50
    assert training["metrics"]["n_kinks"] == sum(p["kink"] for p in detail["analysis"]["breakpoints"])
    analysis = detail["analysis"]
    assert analysis["domain"] == [0.0, 10.0]
    assert analysis["n_regions"] == len(analysis["regions"]) == len(analysis["breakpoints"]) + 1


@pytest.mark.parametrize("model_id", MLPS)
def test_the_curve_points_lie_on_the_region_formulas(client: Client, model_id: str) -> None:
    analysis = client.get(f"/api/models/{model_id}").json()["analysis"]
    regions = analysis["regions"]
    for x, y in analysis["curve"]:  # f(x) from the model's forward pass; the formula from the exact analysis
        region = next(r for r in regions if r["left"] <= x <= r["right"])
        assert region["slope"] * x + region["intercept"] == pytest.approx(y, abs=1e-5)


@pytest.mark.parametrize("model_id", MLPS)
@pytest.mark.parametrize("x", [0.0, 0.37, 4.0, 9.99, -1.5, 11.0])
def test_forward_steps_recompute_from_the_one_before(client: Client, model_id: str, x: float) -> None:
    result = _forward(client, model_id, x)
    steps = result["steps"]
    module = shipped.mlp(model_id).module
    hidden = len(module.config.hidden)
    assert [s["name"] for s in steps] == [
        *(f"layers.{i}.hook_{kind}" for i in range(hidden) for kind in ("z", "a")),
        f"layers.{hidden}.hook_z",
    ]
    a = [x]
    weights = module.weights()
    for step in steps:
        assert step["shape"] == [len(step["data"])]
        if step["name"].endswith("hook_z"):
            i = int(step["name"].split(".")[1])
            assert step["W"] == weights[i][0].tolist()  # the W and b shown are the model's own
            assert step["b"] == weights[i][1].tolist()
            expected = [
                sum(w * v for w, v in zip(row, a, strict=True)) + b for row, b in zip(step["W"], step["b"], strict=True)
            ]
            assert step["data"] == pytest.approx(expected, rel=1e-5, abs=1e-5)
            z = step["data"]
        else:
            assert step["data"] == [max(0.0, v) for v in z]
        a = step["data"]
    assert result["output"]["y"] == pytest.approx(expected[0], rel=1e-5, abs=1e-5)  # y = W_out·a + b_out


@pytest.mark.parametrize("model_id", MLPS)
@pytest.mark.parametrize("x", [0.5, 3.3, 9.0, -2.0, 12.5])
def test_forward_output_has_target_flag_and_the_region_holding_x(client: Client, model_id: str, x: float) -> None:
    out = _forward(client, model_id, x)["output"]
    assert out["target"] == (math.sqrt(x) if x >= 0 else None)
    assert out["extrapolating"] == (not 0.0 <= x <= 10.0)
    region = out["region"]
    assert region["left"] is None or region["left"] <= x
    assert region["right"] is None or x <= region["right"]
    assert region["slope"] * x + region["intercept"] == pytest.approx(out["y"], abs=1e-5)


def _float32_neighbours(x: float) -> list[float]:
    x32 = np.float32(x)
    return [float(np.nextafter(x32, np.float32(-np.inf))), float(x32), x, float(np.nextafter(x32, np.float32(np.inf)))]


@pytest.mark.parametrize("model_id", MLPS)
def test_at_and_around_every_breakpoint_the_region_agrees_with_the_relus_shown(client: Client, model_id: str) -> None:
    # Where float64 analysis and the float32 pass could disagree on the side of a kink, the page must not.
    breakpoints = client.get(f"/api/models/{model_id}").json()["analysis"]["breakpoints"]
    for x in (v for p in breakpoints for v in _float32_neighbours(p["x"])):
        result = _forward(client, model_id, x)
        zs = [s["data"] for s in result["steps"] if s["name"].endswith("hook_z")][:-1]
        region = result["output"]["region"]
        assert region["active"] == [[v > 0 for v in z] for z in zs], x
        assert region["slope"] * x + region["intercept"] == pytest.approx(result["output"]["y"], abs=1e-5)


@pytest.mark.parametrize("model_id", MLPS)
def test_the_limits_in_the_detail_are_what_the_forward_pass_serves(client: Client, model_id: str) -> None:
    limits = client.get(f"/api/models/{model_id}").json()["limits"]
    assert limits == {"input_min": -1000.0, "input_max": 1000.0}
    for x in (limits["input_min"], limits["input_max"]):
        assert _forward(client, model_id, x)["input"] == x
    for x in (limits["input_min"] - 0.5, limits["input_max"] + 0.5):
        response = client.post(f"/api/models/{model_id}/forward", json={"input": x})
        assert response.status_code == 422
        assert f"input: {x!r} is out of range" in response.json()["detail"]


@pytest.mark.parametrize("model_id", MLPS)
def test_every_hook_a_step_applied_relu_and_no_other_step_an_activation(client: Client, model_id: str) -> None:
    steps = _forward(client, model_id, 2.0)["steps"]
    relus = [s["name"] for s in steps if s["activation"] == "ReLU"]
    assert relus == [f"layers.{i}.hook_a" for i in range(len(shipped.mlp(model_id).module.config.hidden))]
    assert all(s["activation"] is None for s in steps if s["name"] not in relus)


@pytest.mark.parametrize("x", [0.0, 2.5, 9.0, 12.0])
def test_the_error_shown_is_the_output_minus_sqrt_x(client: Client, x: float) -> None:
    output = _forward(client, "sqrt-mlp-2x2", x)["output"]
    assert output["target"] == math.sqrt(x)
    assert output["error"] == output["y"] - math.sqrt(x)


def test_below_0_there_is_no_target_and_no_error(client: Client) -> None:
    output = _forward(client, "sqrt-mlp-2x2", -1.0)["output"]
    assert (output["target"], output["error"]) == (None, None)


@pytest.mark.parametrize("model_id", MLPS)
def test_the_detail_gives_every_hidden_units_z_and_a_as_the_forward_pass_computes_them(
    client: Client, model_id: str
) -> None:
    analysis = client.get(f"/api/models/{model_id}").json()["analysis"]
    units = analysis["units"]
    hidden = shipped.mlp(model_id).module.config.hidden
    assert [(u["layer"], u["unit"]) for u in units] == [(i, j) for i, n in enumerate(hidden) for j in range(n)]
    for k, (x, _) in enumerate(analysis["curve"]):
        steps = {s["name"]: s["data"] for s in _forward(client, model_id, x)["steps"]}
        for u in units:
            z = steps[f"layers.{u['layer']}.hook_z"][u["unit"]]
            assert u["z"][k] == pytest.approx(z, abs=1e-5), (x, u["layer"], u["unit"])
            assert u["a"][k] == pytest.approx(max(0.0, z), abs=1e-5)


@pytest.mark.parametrize("model_id", MLPS)
def test_each_units_switches_are_breakpoints_that_name_it_where_its_z_changes_sign(
    client: Client, model_id: str
) -> None:
    analysis = client.get(f"/api/models/{model_id}").json()["analysis"]
    breakpoints = analysis["breakpoints"]
    switches = [(u, s) for u in analysis["units"] for s in u["switches"]]
    assert len(switches) == sum(len(p["switched"]) for p in breakpoints)  # every switch named is a unit's
    for u, s in switches:
        point = breakpoints[s["breakpoint"]]
        assert point["x"] == s["x"]
        assert {"layer": u["layer"], "unit": u["unit"]} in point["switched"]
        hook = f"layers.{u['layer']}.hook_z"
        z_left, z_right = (
            next(step["data"][u["unit"]] for step in _forward(client, model_id, x)["steps"] if step["name"] == hook)
            for x in (s["x"] - 1e-4, s["x"] + 1e-4)
        )
        assert (z_left < 0 < z_right) if s["turns_on"] else (z_left > 0 > z_right), (u["layer"], u["unit"], s)
