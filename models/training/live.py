"""Live training of the tiny nets (the sqrt MLP and the text net), one event at a time, for a page to animate.

A run is the shipped recipe with the page's settings put in (optimizer, learning rate, seed, epochs, width), trained
in exactly the order `loop.train_validated` trains a shipped model: one torch thread, the global seed, the recipe's
`setup`, then `Fit` a step at a time. So the shipped settings give the shipped weights and record, float for float.

Events, in order: one "start" (the settings, what the net is trained on, and the untrained net's view), an "epoch"
every `every` epochs and at the last (its loss, its weights, and what the page animates: the MLP's curve and kinks,
or the text net's embedding table and its prediction for every training pair), then "done" (the record and the
trained net's evaluation) or "diverged" (the loss or a weight is no longer a finite number: the run ends there).

`python -m models.training.live '{"family": "textnet", ...}'` runs one and writes one JSON line per event on
stdout: the server starts one such process per run (app/training.py), so training never holds its event loop.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from models.data import sqrt
from models.data.textpairs import PAIRS
from models.families.mlp import Analysis
from models.mlp import MLP
from models.registry import WEIGHTS_DIR
from models.textnet import TextNet
from models.training import mlp as mlp_recipes
from models.training import textnet as textnet_recipes
from models.training.loop import Fit, recorded
from models.training.recipe import Recipe
from models.training.record import Optimizer

SHIPPED = {"textnet": "textnet-2d-sgd", "mlp": "sqrt-mlp-2x2"}  # a family's defaults are this model's settings
OPTIMIZERS = {"sgd": "plain SGD", "momentum": "SGD with momentum 0.9", "adam": "Adam"}
MOMENTUM = 0.9
MAX_EPOCHS = {"textnet": 5000, "mlp": 6000}
WIDTHS = {"textnet": (1, 8), "mlp": (1, 16)}  # the text net's d_embed = d_hidden; the MLP's two hidden layers
MAX_SEED = 2**32 - 1
MAX_LR = 1e3
EPOCH_EVENTS = 250  # by default a run sends at most about this many epoch events
NICENESS = 19  # a live run's process gives way to the server's (and to anything else): the lowest priority


class SettingsError(ValueError):
    """A setting a run cannot take: the field, what is wrong with it, and the fix."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        super().__init__(f"{field}: {problem}. {fix}")
        self.field, self.problem, self.fix = field, problem, fix


def _recipes() -> dict[str, Recipe]:
    return {**textnet_recipes.RECIPES, **mlp_recipes.RECIPES}


def shipped(family: str) -> Recipe:
    """The shipped recipe whose settings a live run of `family` starts from."""
    if family not in SHIPPED:
        raise SettingsError("family", f"{family!r} is not a family that trains live", "Send 'textnet' or 'mlp'.")
    return _recipes()[SHIPPED[family]]


def base_recipe(family: str, model: str) -> Recipe:
    """The shipped recipe a run starts from: `model`'s (its data, its schedule), which must be of `family`."""
    shipped(family)  # a family that trains live
    recipe = _recipes().get(model)
    if recipe is None or recipe.family != family:
        ours = [r.id for r in _recipes().values() if r.family == family]
        raise SettingsError(
            "model",
            f"{model!r} is not a model of the {family} family whose recipe trains live",
            f"Send one of {', '.join(ours)}.",
        )
    return recipe


def default_every(epochs: int) -> int:
    """Every how many epochs an event goes out, so that a run sends at most EPOCH_EVENTS of them."""
    return max(1, math.ceil(epochs / EPOCH_EVENTS))


@dataclass(frozen=True)
class LiveSettings:
    """What a page asks a live run for; checked when made (SettingsError names the field and the fix)."""

    family: str
    optimizer: str
    lr: float
    seed: int
    epochs: int
    width: int
    every: int = 0  # an epoch event every this many epochs (and at the last); 0: default_every(epochs)
    model: str = ""  # the shipped model whose recipe (data, schedule) the run starts from; "": the family's SHIPPED

    def __post_init__(self) -> None:
        if not self.model:
            object.__setattr__(self, "model", shipped(self.family).id)
        recipe = base_recipe(self.family, self.model)
        if self.optimizer not in OPTIMIZERS:
            *most, last = (f"'{name}' ({said})" for name, said in OPTIMIZERS.items())
            names = f"{', '.join(most)} or {last}"
            raise SettingsError("optimizer", f"{self.optimizer!r} is not an optimizer offered here", f"Send {names}.")
        if not math.isfinite(self.lr) or not 0 < self.lr <= MAX_LR:
            raise SettingsError(
                "lr", f"{self.lr} is not a learning rate", f"Send a number above 0 and at most {MAX_LR:g}, e.g. 0.1."
            )
        if not 0 <= self.seed <= MAX_SEED:
            raise SettingsError("seed", f"{self.seed} is outside 0 to {MAX_SEED}", "Send a whole number in that range.")
        cap = MAX_EPOCHS[self.family]
        if not 1 <= self.epochs <= cap:
            raise SettingsError(
                "epochs", f"{self.epochs} is outside 1 to {cap}, the cap for the {self.family}",
                f"Send at most {cap} epochs (the shipped model took {recipe.steps}).",
            )  # fmt: skip
        lo, hi = WIDTHS[self.family]
        if not lo <= self.width <= hi:
            what = "d_embed = d_hidden" if self.family == "textnet" else "units in each of the two hidden layers"
            raise SettingsError(
                "width", f"{self.width} is outside {lo} to {hi} ({what})", f"Send a width from {lo} to {hi}."
            )
        if self.every == 0:
            object.__setattr__(self, "every", default_every(self.epochs))
        elif not 1 <= self.every <= self.epochs:
            raise SettingsError(
                "every", f"{self.every} is outside 1 to {self.epochs} (the epochs)",
                f"Send a number of epochs between events from 1 to {self.epochs}, or leave it out for "
                f"{default_every(self.epochs)}.",
            )  # fmt: skip

    @classmethod
    def defaults(cls, family: str, model: str | None = None) -> LiveSettings:
        """The settings of a shipped model of the family (`model`; by default SHIPPED's), from its recipe and its
        record's seed (a recipe that searches seeds names them all; the record says which one was kept)."""
        recipe = base_recipe(family, model or shipped(family).id)
        spec = recipe.optimizer
        name = "adam" if spec.name != "SGD" else "momentum" if spec.momentum else "sgd"
        seed = json.loads((WEIGHTS_DIR / f"{recipe.id}.json").read_text(encoding="utf-8"))["seed"]
        return cls(family, name, spec.lr, int(seed), recipe.steps, _width(recipe), model=recipe.id)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _width(recipe: Recipe) -> int:
    config = recipe.config_dict()
    return int(config["d_embed"]) if recipe.family == "textnet" else int(config["hidden"][0])


def recipe_for(settings: LiveSettings) -> Recipe:
    """The shipped recipe with the settings put in. The family keeps its schedule (the MLP's cosine decay) and its
    data. With exactly the shipped settings it is the shipped recipe, held to its one seed."""
    base = base_recipe(settings.family, settings.model)
    if replace(settings, every=1) == replace(LiveSettings.defaults(settings.family, settings.model), every=1):
        return replace(base, seeds=(settings.seed,))
    momentum = MOMENTUM if settings.optimizer == "momentum" else 0.0
    name: Literal["SGD", "Adam"] = "Adam" if settings.optimizer == "adam" else "SGD"
    optimizer = Optimizer(name, settings.lr, momentum=momentum, schedule=base.optimizer.schedule)
    w = settings.width
    if isinstance(base, textnet_recipes.TextNetRecipe):
        config: Any = replace(base.config, d_embed=w, d_hidden=w)
        title = f"Text net, {w}-D embeddings, {OPTIMIZERS[settings.optimizer]}, trained live"
    else:
        assert isinstance(base, mlp_recipes.MLPRecipe)
        config = replace(base.config, hidden=(w, w))
        title = f"sqrt(x) with a 1→{w}→{w}→1 ReLU net, {OPTIMIZERS[settings.optimizer]}, trained live"
    return replace(
        base, id=f"live-{settings.family}", title=title, seeds=(settings.seed,), steps=settings.epochs,
        optimizer=optimizer, config=config,
        description=f"Trained live from {base.id}'s recipe with lr {settings.lr:g}, seed {settings.seed}.",
    )  # fmt: skip


def command(settings: LiveSettings) -> str:
    """How to run it again, as the record of a run with other than the shipped settings says."""
    return f"python -m models.training.live '{json.dumps(settings.to_dict())}'"


def weights_of(model: nn.Module) -> dict[str, Any]:
    """Every parameter as nested lists, by its state-dict name."""
    return {name: tensor.tolist() for name, tensor in model.state_dict().items()}


def finite(model: nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def view(model: nn.Module) -> dict[str, Any]:
    """What the page animates. The MLP: its curve (x, f(x)) at the domain's ends and every breakpoint, exact since f
    is linear between them (models/families/mlp.py's Analysis), and its kinks. The text net: its embedding table
    and its prediction for every training pair."""
    if isinstance(model, MLP):
        weights = [(w.double().numpy(), b.double().numpy()) for w, b in model.weights()]

        def outputs(xs: list[float]) -> list[float]:
            with torch.no_grad():
                batch = torch.tensor(xs, dtype=torch.float32).unsqueeze(1)  # [points, 1]
                return model(batch).squeeze(1).tolist()  # type: ignore[no-any-return]

        analysis = Analysis.of(weights, sqrt.DOMAIN, outputs)
        curve = [[x, y] for x, y in analysis.curve]
        kinks = [[x, y] for (x, y), p in zip(curve[1:-1], analysis.domain_breakpoints, strict=True) if p.is_kink]
        return {"curve": curve, "kinks": kinks}
    assert isinstance(model, TextNet)
    return {"embedding": model.embed.weight.tolist(), "predictions": textnet_recipes.predictions(model)}


def trained_on(recipe: Recipe, seed: int) -> dict[str, Any]:
    """What the run trains on, for the page to draw beside the net: the MLP's domain and samples (the recipe's own
    draw), the text net's vocabulary and pairs."""
    if isinstance(recipe, mlp_recipes.MLPRecipe):
        x = recipe.samples(torch.Generator().manual_seed(seed)).squeeze(1)  # the draw setup makes
        return {"target": "y = sqrt(x)", "domain": list(sqrt.DOMAIN), "samples": [round(v, 4) for v in x.tolist()]}
    return {"vocab": list(recipe.config_dict()["vocab"]), "pairs": [list(p) for p in PAIRS]}


class LiveRun:
    """One live run: iterate `events()`; `model` is the net being trained (the trained one once it is done)."""

    def __init__(self, settings: LiveSettings) -> None:
        self.settings = settings
        self.recipe = recipe_for(settings)
        self.model: nn.Module | None = None

    def events(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(name, data) pairs: start, epoch…, then done or diverged. Trained as loop.train_validated trains."""
        settings, recipe = self.settings, self.recipe
        started = time.perf_counter()
        torch.set_num_threads(1)  # one thread: the same seed gives the same floats
        torch.manual_seed(settings.seed)
        setup = recipe.setup(settings.seed)
        self.model = model = setup.model
        yield "start", {"settings": settings.to_dict(), "id": recipe.id, "config": recipe.config_dict(),
                        "optimizer": asdict(recipe.optimizer), "data": trained_on(recipe, settings.seed),
                        "view": view(model)}  # fmt: skip
        run = Fit(model, setup.loss_at, recipe.steps, recipe.optimizer, setup.validate)
        for epoch, loss in run:
            sent = epoch % settings.every == 0 or epoch == recipe.steps  # the last epoch always goes out
            if not math.isfinite(loss) or (sent and not finite(model)):  # a weight gone is the next loss gone
                yield "diverged", {"epoch": epoch, "message": diverged(epoch, loss, settings)}
                return
            if sent:
                yield "epoch", {"epoch": epoch, "loss": loss, "weights": weights_of(model), "view": view(model)}
        outcome = recipe.evaluate(model, settings.seed, run.curve)
        record = recorded(recipe, settings.seed, outcome, run.curve, run.validation, started, [outcome])
        if recipe.id.startswith("live-"):
            record = replace(record, command=command(settings))
        yield "done", {"record": record.to_json(), "evaluation": {"metrics": outcome.metrics, **outcome.extra}}


def diverged(epoch: int, loss: float, settings: LiveSettings) -> str:
    what = f"the loss became {loss}" if not math.isfinite(loss) else "a weight became infinite or NaN"
    return (
        f"Diverged at epoch {epoch}: {what} with learning rate {settings.lr:g}. The steps overshoot further each "
        "time; try a smaller learning rate."
    )


def plain(value: Any) -> Any:
    """numpy scalars as Python numbers, for json."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def warm_up() -> None:
    """What a run's first step would load (an optimizer's first use imports torch._dynamo, over a second): a process
    started ahead of a run does it while it waits. It draws no random numbers, so the run's floats are unchanged."""
    weight = torch.zeros(1, requires_grad=True)
    torch.optim.SGD([weight], lr=0.1).step()
    torch.optim.Adam([weight], lr=0.1).step()


def lower_priority() -> None:
    """Give way to the server: this process runs at NICENESS (raised to it, never lowered)."""
    if hasattr(os, "nice"):
        os.nice(max(0, NICENESS - os.nice(0)))


def main(argv: list[str]) -> int:
    """One run from the settings given as a JSON object (with --wait: read as one line on stdin, once warmed up);
    one JSON line per event on stdout, {"event": name, "data": …}."""
    lower_priority()
    torch.set_num_threads(1)
    if argv == ["--wait"]:
        warm_up()
        argv = [sys.stdin.readline()]
    try:
        settings = LiveSettings(**json.loads(argv[0]))
    except (TypeError, ValueError, IndexError) as error:  # SettingsError is a ValueError
        print(f"live: {error}", file=sys.stderr)
        return 2
    try:
        for name, data in LiveRun(settings).events():
            sys.stdout.write(json.dumps({"event": name, "data": data}, default=plain, allow_nan=False) + "\n")
            sys.stdout.flush()
    except BrokenPipeError:  # the server has gone (its client left): nobody is reading
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
