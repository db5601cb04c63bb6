"""Live training: a run's events are the training the recipe does directly, the shipped settings give the shipped
model float for float, a run that blows up says so, and settings it cannot take are refused by name."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
from safetensors.torch import load_file, save

from models.data import sqrt
from models.data.textpairs import PAIRS
from models.families.mlp import Analysis
from models.mlp import MLP, MLPConfig
from models.registry import WEIGHTS_DIR
from models.textnet import TextNet, TextNetConfig
from models.training import live
from models.training.live import LiveRun, LiveSettings, SettingsError, recipe_for
from models.training.loop import Fit, train_validated
from models.training.textnet import predictions

Events = list[tuple[str, dict[str, Any]]]


def run(settings: LiveSettings) -> tuple[LiveRun, Events]:
    trained = LiveRun(settings)
    return trained, list(trained.events())


def tensors(weights: dict[str, Any]) -> dict[str, torch.Tensor]:
    return {name: torch.tensor(value, dtype=torch.float32) for name, value in weights.items()}


def epochs(events: Events) -> list[dict[str, Any]]:
    return [data for name, data in events if name == "epoch"]


@pytest.fixture(scope="module")
def shipped_textnet() -> tuple[LiveRun, Events]:
    return run(LiveSettings.defaults("textnet"))


def test_the_defaults_are_the_shipped_models_settings() -> None:
    textnet, mlp = LiveSettings.defaults("textnet"), LiveSettings.defaults("mlp")
    record = json.loads((WEIGHTS_DIR / "textnet-2d-sgd.json").read_text())
    assert (textnet.optimizer, textnet.lr, textnet.seed, textnet.epochs, textnet.width) == (
        "sgd", record["optimizer"]["lr"], record["seed"], record["epochs"], record["config"]["d_embed"],
    )  # fmt: skip
    assert (textnet.seed, textnet.every) == (27, 2)  # 500 epochs: an event every 2, 250 of them
    assert (mlp.optimizer, mlp.lr, mlp.seed, mlp.epochs, mlp.width) == ("adam", 0.02, 5, 3000, 2)


def test_the_shipped_settings_give_the_shipped_weights_byte_for_byte(shipped_textnet: tuple[LiveRun, Events]) -> None:
    trained, events = shipped_textnet
    assert trained.model is not None
    written = (WEIGHTS_DIR / "textnet-2d-sgd.safetensors").read_bytes()
    assert save(trained.model.state_dict()) == written
    last = epochs(events)[-1]  # the weights the page is sent are those floats too
    assert last["epoch"] == 500
    shipped = load_file(WEIGHTS_DIR / "textnet-2d-sgd.safetensors")
    assert all(torch.equal(value, shipped[name]) for name, value in tensors(last["weights"]).items())


@pytest.mark.parametrize(
    ("family", "model"), [("textnet", "textnet-4d-adam"), ("mlp", "sqrt-mlp-2x2"), ("mlp", "sqrt-mlp-16x16")]
)
def test_each_pages_own_settings_give_its_models_weights_byte_for_byte(family: str, model: str) -> None:
    """A page's live panel starts from its own model (`model`): run as shipped, it trains that model again."""
    settings = LiveSettings.defaults(family, model)
    record = json.loads((WEIGHTS_DIR / f"{model}.json").read_text())
    assert (settings.seed, settings.epochs, settings.lr) == (
        record["seed"],
        record["epochs"],
        record["optimizer"]["lr"],
    )
    trained, events = run(settings)
    assert trained.model is not None
    assert save(trained.model.state_dict()) == (WEIGHTS_DIR / f"{model}.safetensors").read_bytes()
    name, done = events[-1]
    assert name == "done"
    assert done["record"]["metrics"] == record["metrics"]
    assert done["record"]["data"] == record["data"]


def test_the_shipped_settings_give_the_shipped_record(shipped_textnet: tuple[LiveRun, Events]) -> None:
    _, events = shipped_textnet
    name, done = events[-1]
    assert name == "done"
    record = json.loads((WEIGHTS_DIR / "textnet-2d-sgd.json").read_text())
    mine = done["record"]
    for key in ("loss_curve", "metrics", "predictions", "greedy_chains"):
        assert mine[key] == record[key], key
    differ = {"trained_at", "duration_s", "seed_search", "trajectory", "optimizer"}  # when and how long it took
    assert {k: v for k, v in mine.items() if k not in differ} == {k: v for k, v in record.items() if k not in differ}
    # records written before SGD took a momentum have no momentum: theirs is 0
    assert mine["optimizer"] == {"momentum": 0.0, **record["optimizer"]}
    assert mine["greedy_chains"][0]["loop"] == ["dog", "dog"]  # the trap, live


def test_the_loss_of_each_event_is_the_loops_own(shipped_textnet: tuple[LiveRun, Events]) -> None:
    _, events = shipped_textnet
    curve = dict(map(tuple, json.loads((WEIGHTS_DIR / "textnet-2d-sgd.json").read_text())["loss_curve"]))
    sent = {e["epoch"]: e["loss"] for e in epochs(events)}
    assert len(sent) == 250
    assert [sent[epoch] for epoch in curve if epoch in sent] == [curve[epoch] for epoch in curve if epoch in sent]


@pytest.mark.parametrize(
    "settings",
    [
        LiveSettings("textnet", "adam", 0.05, 3, 40, 3, every=7),
        LiveSettings("mlp", "momentum", 0.01, 2, 30, 4, every=5),
    ],
    ids=["textnet adam", "mlp momentum"],
)
def test_a_run_is_the_recipes_training_done_directly(settings: LiveSettings) -> None:
    trained, events = run(settings)
    recipe = recipe_for(settings)
    model, curve, _ = train_validated(recipe, settings.seed)
    assert trained.model is not None
    assert all(torch.equal(a, b) for a, b in zip(trained.model.parameters(), model.parameters(), strict=True))
    # every epoch event's loss and weights are those of the loop stepped directly
    torch.manual_seed(settings.seed)
    setup = recipe.setup(settings.seed)
    sent = {e["epoch"]: e for e in epochs(events)}
    assert list(sent) == [*range(settings.every, settings.epochs + 1, settings.every), settings.epochs][: len(sent)]
    for epoch, loss in Fit(setup.model, setup.loss_at, recipe.steps, recipe.optimizer, setup.validate):
        if epoch in sent:
            assert sent[epoch]["loss"] == loss
            state = setup.model.state_dict()
            assert all(torch.equal(v, state[k]) for k, v in tensors(sent[epoch]["weights"]).items())
    assert events[-1][1]["record"]["loss_curve"] == curve
    assert events[-1][1]["record"]["optimizer"]["name"] == ("Adam" if settings.optimizer == "adam" else "SGD")


def test_a_text_net_epoch_shows_its_weights_table_and_predictions() -> None:
    settings = LiveSettings("textnet", "sgd", 0.5, 1, 20, 2, every=10)
    _, events = run(settings)
    start = events[0][1]
    assert start["data"]["pairs"] == [list(p) for p in PAIRS]
    for event in epochs(events):
        net = TextNet(TextNetConfig(**start["config"]))
        net.load_state_dict(tensors(event["weights"]))
        assert event["view"]["embedding"] == event["weights"]["embed.weight"]
        assert event["view"]["predictions"] == predictions(net)


def outputs_of(net: MLP) -> Callable[[list[float]], list[float]]:
    def outputs(xs: list[float]) -> list[float]:
        with torch.no_grad():
            ys: list[float] = net(torch.tensor(xs).unsqueeze(1)).squeeze(1).tolist()
        return ys

    return outputs


def test_an_mlp_epoch_shows_its_curve_and_kinks_from_its_weights() -> None:
    settings = LiveSettings("mlp", "adam", 0.05, 5, 40, 3, every=20)
    _, events = run(settings)
    start = events[0][1]
    assert start["data"]["domain"] == list(sqrt.DOMAIN)
    assert len(start["data"]["samples"]) == 200
    for event in epochs(events):
        net = MLP(MLPConfig(**start["config"]))
        net.load_state_dict(tensors(event["weights"]))
        weights = [(w.double().numpy(), b.double().numpy()) for w, b in net.weights()]
        xs = [x for x, _ in event["view"]["curve"]]
        analysis = Analysis.of(weights, sqrt.DOMAIN, outputs_of(net))
        assert xs == [x for x, _ in analysis.curve]
        assert [y for _, y in event["view"]["curve"]] == outputs_of(net)(xs)
        kinks = [p.x for p in analysis.domain_breakpoints if p.is_kink]
        assert [x for x, _ in event["view"]["kinks"]] == kinks
        assert (xs[0], xs[-1]) == sqrt.DOMAIN


def test_a_huge_learning_rate_ends_with_diverged() -> None:
    _, events = run(LiveSettings("mlp", "sgd", 1000.0, 0, 200, 2))
    name, data = events[-1]
    assert name == "diverged"
    assert "done" not in [n for n, _ in events]
    assert 1 <= data["epoch"] < 200
    assert f"Diverged at epoch {data['epoch']}" in data["message"]
    assert "try a smaller learning rate" in data["message"]
    assert all(math.isfinite(e["loss"]) for e in epochs(events))  # every epoch sent before it was still a number


def test_by_default_a_run_sends_at_most_250_epochs_and_always_the_last() -> None:
    settings = LiveSettings("mlp", "adam", 0.02, 5, 5999, 2)
    assert settings.every == 24
    assert math.ceil(5999 / settings.every) <= live.EPOCH_EVENTS


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"lr": 0.0}, "lr", "0.0 is not a learning rate. Send a number above 0"),
        ({"lr": -0.1}, "lr", "-0.1 is not a learning rate"),
        ({"lr": math.nan}, "lr", "nan is not a learning rate"),
        ({"lr": math.inf}, "lr", "inf is not a learning rate"),
        ({"epochs": 5001}, "epochs", "5001 is outside 1 to 5000, the cap for the textnet. Send at most 5000 epochs"),
        ({"epochs": 0}, "epochs", "0 is outside 1 to 5000"),
        ({"optimizer": "rmsprop"}, "optimizer", "'rmsprop' is not an optimizer offered here. Send 'sgd'"),
        ({"width": 9}, "width", "9 is outside 1 to 8 (d_embed = d_hidden). Send a width from 1 to 8."),
        ({"width": 0}, "width", "0 is outside 1 to 8"),
        ({"seed": -1}, "seed", "-1 is outside 0 to 4294967295"),
        ({"every": 501}, "every", "501 is outside 1 to 500 (the epochs)"),
        ({"family": "gpt"}, "family", "'gpt' is not a family that trains live. Send 'textnet' or 'mlp'."),
        (
            {"model": "sqrt-mlp-2x2"},
            "model",
            "'sqrt-mlp-2x2' is not a model of the textnet family whose recipe trains "
            "live. Send one of textnet-2d-sgd, textnet-4d-adam.",
        ),
    ],
)
def test_a_setting_a_run_cannot_take_is_refused_by_name(change: dict[str, Any], field: str, says: str) -> None:
    given = {**LiveSettings.defaults("textnet").to_dict(), "every": 0, **change}
    with pytest.raises(SettingsError) as refused:
        LiveSettings(**given)
    assert refused.value.field == field
    assert says in str(refused.value)
    assert str(refused.value).startswith(f"{field}: ")


def test_the_process_writes_one_json_line_per_event(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr(live, "lower_priority", lambda: None)  # the test process keeps its priority
    settings = LiveSettings("textnet", "momentum", 0.1, 4, 12, 2, every=4)
    assert live.main([json.dumps(settings.to_dict())]) == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    _, events = run(settings)
    assert [(line["event"], line["data"]) for line in lines[:-1]] == [(n, d) for n, d in events[:-1]]
    assert [line["event"] for line in lines] == ["start", "epoch", "epoch", "epoch", "done"]


def test_the_process_refuses_bad_settings_on_stderr(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "lower_priority", lambda: None)
    bad = {**LiveSettings.defaults("mlp").to_dict(), "lr": -1.0}
    assert live.main([json.dumps(bad)]) == 2
    assert "lr: -1.0 is not a learning rate" in capsys.readouterr().err
