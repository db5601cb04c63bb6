"""POST /api/train: a live run streamed by the real server is the training models/ does; settings it cannot take get
a 422 naming the field, a run over the limit a 429 with Retry-After, a run over its time a "stopped" event; and a
client that leaves takes its run's process with it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import torch
from safetensors.torch import load_file

from app.config import Settings
from app.main import create_app
from app.training import Trainer
from models.registry import WEIGHTS_DIR
from models.training.live import LiveSettings, recipe_for
from models.training.loop import train_validated
from tests.app.conftest import Client
from tests.servers import serving

TRAIN = "/api/train"
Event = tuple[str, dict[str, Any]]


def parse(text: str) -> list[Event]:
    """Server-Sent Events: blocks of `event:` and `data:` lines, each block ended by an empty line."""
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append((fields["event"], json.loads(fields["data"])))
    return events


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving("app.main:create_app", env={"LAYERWALK_TRAIN_WARM": "1"}) as url:
        yield url


def stream(url: str, body: dict[str, Any]) -> tuple[httpx.Response, list[Event]]:
    with httpx.stream("POST", url + TRAIN, json=body, timeout=60) as response:
        return response, parse(response.read().decode())


@pytest.fixture(autouse=True)
def _threads() -> Iterator[None]:
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_the_shipped_text_net_streams_back_as_shipped(server: str) -> None:
    response, events = stream(server, {"family": "textnet"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    names = [name for name, _ in events]
    assert names == ["start", *["epoch"] * 250, "done"]
    start = events[0][1]
    assert start["settings"] == LiveSettings.defaults("textnet").to_dict()
    shipped = load_file(WEIGHTS_DIR / "textnet-2d-sgd.safetensors")
    last = events[-2][1]
    assert last["epoch"] == 500
    assert all(torch.equal(torch.tensor(v, dtype=torch.float32), shipped[k]) for k, v in last["weights"].items())
    record = json.loads((WEIGHTS_DIR / "textnet-2d-sgd.json").read_text())
    done = events[-1][1]["record"]
    for key in ("loss_curve", "metrics", "predictions", "greedy_chains", "config", "seed", "epochs"):
        assert done[key] == record[key], key


def test_a_streamed_mlp_run_is_the_training_models_does(server: str) -> None:
    body = {"family": "mlp", "optimizer": "momentum", "lr": 0.01, "seed": 3, "epochs": 300, "width": 3}
    response, events = stream(server, body)
    assert response.status_code == 200
    settings = LiveSettings(**{**events[0][1]["settings"]})
    assert (settings.optimizer, settings.lr, settings.seed, settings.epochs, settings.width) == (
        "momentum", 0.01, 3, 300, 3,
    )  # fmt: skip
    model, curve, _ = train_validated(recipe_for(settings), settings.seed)
    epochs = [data for name, data in events if name == "epoch"]
    assert [e["epoch"] for e in epochs] == list(range(2, 301, 2))  # every = ceil(300 / 250)
    state = model.state_dict()
    assert all(torch.equal(torch.tensor(v, dtype=torch.float32), state[k]) for k, v in epochs[-1]["weights"].items())
    name, done = events[-1]
    assert name == "done"
    assert done["record"]["loss_curve"] == curve
    assert done["record"]["id"] == "live-mlp"
    assert done["record"]["config"]["hidden"] == [3, 3]


def test_a_huge_learning_rate_streams_diverged(server: str) -> None:
    _, events = stream(server, {"family": "mlp", "optimizer": "sgd", "lr": 1000, "epochs": 100})
    name, data = events[-1]
    assert name == "diverged"
    assert "try a smaller learning rate" in data["message"]


def children_running_live(port: str) -> set[int]:
    """The live-training processes of the server listening on `port`, by pid."""
    found = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0")
            parent = (proc / "stat").read_text().rpartition(")")[2].split()[1]
            parents_command = Path(f"/proc/{parent}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"models.training.live" in command and port.encode() in parents_command:
            found.add(int(proc.name))
    return found


def test_a_client_that_leaves_takes_its_run_with_it(server: str) -> None:
    port = server.rsplit(":", 1)[1]
    deadline = time.monotonic() + 30
    while len(children_running_live(port)) != 1 and time.monotonic() < deadline:  # the one waiting for a run
        time.sleep(0.1)
    waiting = children_running_live(port)
    body = {"family": "mlp", "epochs": 6000, "width": 16, "every": 1}  # tens of seconds of epochs
    with httpx.stream("POST", server + TRAIN, json=body, timeout=60) as response:
        lines = response.iter_lines()
        while next(lines) != "event: epoch":
            pass
        running = children_running_live(port)
        assert waiting <= running  # the run took the waiting process, and another one waits now
        assert len(running) == 2
    gone = time.monotonic() + 5
    while waiting & children_running_live(port) and time.monotonic() < gone:
        time.sleep(0.05)
    assert not waiting & children_running_live(port)
    assert len(children_running_live(port)) == 1  # the new waiting one
    assert httpx.get(server + "/healthz").status_code == 200


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"family": "textnet", "lr": 0}, "lr", "lr: 0.0 is not a learning rate. Send a number above 0 and at most "
         "1000, e.g. 0.1."),
        ({"family": "textnet", "epochs": 5001}, "epochs", "epochs: 5001 is outside 1 to 5000, the cap for the textnet. "
         "Send at most 5000 epochs (the shipped model took 500)."),
        ({"family": "mlp", "width": 17}, "width", "width: 17 is outside 1 to 16 (units in each of the two hidden "
         "layers). Send a width from 1 to 16."),
        ({"family": "mlp", "optimizer": "rmsprop"}, "optimizer", "optimizer: 'rmsprop' is not an optimizer offered "
         "here. Send 'sgd' (plain SGD), 'momentum' (SGD with momentum 0.9) or 'adam' (Adam)."),
        ({"family": "cnn"}, "family", "family: 'cnn' is not a family that trains live. Send 'textnet' or 'mlp'."),
        ({"family": "textnet", "seed": 1.5}, "seed", None),
        ({"family": "textnet", "lr": "fast"}, "lr", None),
        ({"lr": 0.1}, "family", "'family' is missing. See /docs for the request body this endpoint takes."),
    ],
)  # fmt: skip
def test_a_bad_setting_is_a_422_naming_it(
    client: Client, body: dict[str, Any], field: str, message: str | None
) -> None:
    response = client.post(TRAIN, json=body)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == field
    if message is not None:
        assert error["message"] == message


def test_nan_is_a_422_too(client: Client) -> None:
    response = client.post(TRAIN, content=b'{"family": "mlp", "lr": NaN}', headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("lr: nan is not a learning rate")


def test_a_run_over_the_limit_is_a_429_with_retry_after(client: Client) -> None:
    trainer = client.app.state.trainer
    assert trainer.max_runs == 4
    held = [trainer.reserve() for _ in range(4)]  # four runs going
    try:
        assert held == [True] * 4
        response = client.post(TRAIN, json={"family": "textnet"})
    finally:
        for _ in held:
            trainer.release()
    assert response.status_code == 429
    assert response.headers["retry-after"] == "10"
    assert response.json()["detail"] == (
        "4 live training runs are going, the most the server allows (setting LAYERWALK_TRAIN_RUNS = 4). Retry in 10 s."
    )
    assert trainer.running == 0


def test_a_run_over_its_time_is_stopped_and_its_process_ended() -> None:
    app = create_app(Settings(train_time_s=0.3, train_warm=0))
    trainer: Trainer = app.state.trainer
    started: list[int] = []
    take = trainer.process

    async def process() -> asyncio.subprocess.Process:
        found = await take()
        started.append(found.pid)
        return found

    trainer.process = process  # type: ignore[method-assign]
    response = Client(app).post(TRAIN, json={"family": "textnet", "epochs": 5000})
    assert response.status_code == 200
    events = parse(response.text)
    name, data = events[-1]
    assert name == "stopped"
    assert data["message"] == (
        f"Stopped at epoch {data['epoch']}: a live run may take at most 0.3 s (setting LAYERWALK_TRAIN_TIME_S). "
        "Train fewer epochs."
    )
    assert (trainer.running, trainer.pids) == (0, set())
    [pid] = started
    assert not Path(f"/proc/{pid}").exists()  # killed and reaped


def test_no_waiting_process_is_lost_when_runs_take_them_while_more_are_started() -> None:
    """Real processes (`sleep`), started slowly: runs that arrive while the waiting ones are made up take one each,
    every process started is a run's or waiting, and closing ends the waiting ones and the making-up."""

    async def scenario() -> None:
        trainer = Trainer(max_runs=8, time_cap_s=60, warm=2)
        started: list[asyncio.subprocess.Process] = []

        async def slow_start() -> asyncio.subprocess.Process:
            await asyncio.sleep(0.05)  # while this waits, other runs come
            process = await asyncio.create_subprocess_exec("sleep", "30")
            started.append(process)
            return process

        trainer._start = slow_start  # type: ignore[method-assign]
        trainer.warming = True
        await trainer.fill()
        runs = await asyncio.gather(*(trainer.process() for _ in range(5)))  # during the refill their taking starts
        await asyncio.sleep(0.6)  # the refill's task ends
        assert not trainer.filling
        assert len(trainer.waiting) == trainer.warm
        assert {p.pid for p in started} == {p.pid for p in runs} | {p.pid for p in trainer.waiting}
        assert len(set(runs)) == len(runs)  # no process serves two runs
        await trainer.process()  # and once more, so a refill is going as the app stops
        await trainer.close()
        assert not trainer.filling
        for process in started:
            await asyncio.wait_for(process.wait(), timeout=5)  # every one ended: none left behind
            assert process.returncode is not None

    asyncio.run(scenario())


def test_live_training_turned_off_says_so() -> None:
    client = Client(create_app(Settings(train_runs=0)))
    response = client.post(TRAIN, json={"family": "textnet"})
    assert response.status_code == 404
    assert "Live training is off on this server (setting LAYERWALK_TRAIN_RUNS = 0)" in response.json()["detail"]
