"""The toy family: a bigram word model (embedding → ReLU layer → one logit per word), its loaded class, its recipe,
its presenter, and an app that serves it. Nothing outside this folder names it: it is registered at run time.

`python -m uvicorn tests.toy.family:create_app --factory` serves it alone, from weights trained into a temporary
folder; the page is the one any family without its own gets (templates/model.html).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Self

import torch
from fastapi import FastAPI
from torch import nn

from app import presenters, schemas
from app.config import Settings
from app.main import create_app as create_layerwalk
from app.passes import KeptPass, PassCache
from app.presenters import text
from app.presenters.base import STEPS, Label, steps_from_cache
from models import families
from models.families.base import TextModel, Weights, ready
from models.hooks import HookPoint, run_with_cache
from models.tokenizers import WordTokenizer
from models.training.loop import train
from models.training.recipe import Outcome, Recipe, Setup
from models.training.record import Optimizer

MODEL_ID = "toy-bigram"
TEXT = "a b c a b c a c ."  # what it learns: after a comes b, after b comes c, after c comes a (or ".")


@dataclass(frozen=True)
class ToyConfig:
    vocab: tuple[str, ...] = field(default=("a", "b", "c", "."))
    d_embed: int = 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "vocab", tuple(self.vocab))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "vocab": list(self.vocab)}


class Toy(nn.Module):
    def __init__(self, config: ToyConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(len(config.vocab), config.d_embed)
        self.hook_embed = HookPoint()
        self.hidden = nn.Linear(config.d_embed, config.d_embed)
        self.hook_hidden = HookPoint()
        self.unembed = nn.Linear(config.d_embed, len(config.vocab))
        self.hook_logits = HookPoint()

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        e = self.hook_embed(self.embed(ids))  # [batch, d_embed]
        h = self.hook_hidden(torch.relu(self.hidden(e)))  # [batch, d_embed]
        logits: torch.Tensor = self.hook_logits(self.unembed(h))  # [batch, vocab]
        return logits


@dataclass(frozen=True, eq=False)
class LoadedToy(TextModel[Toy]):
    family = "toy"

    @classmethod
    def load(cls, model_id: str, record: dict[str, Any], weights: Weights) -> Self:
        config = ToyConfig(**record["config"])
        return cls(model_id, record, ready(Toy(config), weights), WordTokenizer(list(config.vocab)))

    @property
    def eos(self) -> str:
        return "."

    def reads(self, context: list[int]) -> tuple[int, ...]:
        return tuple(context[-1:])

    def next_logits(self, context: list[int]) -> torch.Tensor:
        with torch.no_grad():
            logits: torch.Tensor = self.module(torch.tensor(context[-1:]))[0]  # [vocab]
        return logits


@dataclass(frozen=True, kw_only=True)
class ToyRecipe(Recipe):
    family = "toy"
    config: ToyConfig = field(default_factory=ToyConfig)
    loss: str = "cross-entropy on each next word of TEXT"

    def pairs(self) -> tuple[torch.Tensor, torch.Tensor]:
        ids = WordTokenizer(list(self.config.vocab)).encode(TEXT)
        return torch.tensor(ids[:-1]), torch.tensor(ids[1:])

    def setup(self, seed: int) -> Setup:
        model = Toy(self.config)
        x, y = self.pairs()
        return Setup(model, lambda _step: torch.nn.functional.cross_entropy(model(x), y))

    def evaluate(self, model: nn.Module, seed: int, curve: list[list[float]]) -> Outcome:
        x, y = self.pairs()
        with torch.no_grad():
            right = float((model(x).argmax(-1) == y).float().mean())
        return Outcome({"final_loss": curve[-1][1], "accuracy": right}, {"text": TEXT})


RECIPE = ToyRecipe(
    id=MODEL_ID, title="Toy bigram", description="A bigram word model: a family defined in the tests alone, served by "
    "the page any family without its own gets.", seeds=(2,), steps=200,
    optimizer=Optimizer("Adam", lr=0.05),
)  # fmt: skip


class ToyForward(schemas.ForwardResult):
    tokens: list[str]
    output: text.TextOutput


class ToyPresenter(text.TextPresenter[LoadedToy]):
    family = "toy"
    loaded = LoadedToy
    forward_schema = ToyForward

    def label(self, model: LoadedToy, name: str) -> Label:
        module = model.module
        if name == model.name_of(module.hook_embed):
            return Label("Embedding", "e = E[word]")
        if name == model.name_of(module.hook_hidden):
            return Label("Hidden", "h = ReLU(W·e + b)", module.hidden, "ReLU")
        return Label("Logits", "logits = W_out·h + b_out", module.unembed)

    def capture(self, model: LoadedToy, token: int) -> KeptPass:
        logits, cache = run_with_cache(model.module, torch.tensor([token]))
        steps = steps_from_cache(self.layout(model), {name: value[0] for name, value in cache.items()})
        return KeptPass({"steps": STEPS.dump_json(steps)}, logits[0])

    def forward(self, model: LoadedToy, request: schemas.ForwardRequest, passes: PassCache) -> bytes:
        text.no_target(request, self.family)
        ids = text.parse_text(model.id, model.tokenizer, request.input, "input")
        last = ids[-1]
        return text.respond(
            passes, schema=ToyForward, key=(model.id, last), capture=lambda: self.capture(model, last), request=request,
            vocab=model.tokenizer.vocab, previous=ids,
            fields={"model": model.id, "input": request.input, "tokens": model.tokenizer.decode(ids)},
        )  # fmt: skip


PRESENTER = ToyPresenter()


def register() -> None:
    families.register(LoadedToy)
    presenters.register(PRESENTER)


@contextmanager
def registered() -> Iterator[None]:
    """The toy family served for the length of the block, and forgotten after it."""
    register()
    try:
        yield
    finally:
        presenters.unregister(LoadedToy.family)
        families.unregister(LoadedToy.family)


def weights_in(folder: Path) -> Path:
    """Trains the toy model into `folder` (its record and weights, as any shipped model's) and returns `folder`."""
    train(RECIPE, folder, progress=False)
    return folder


_FOLDER = tempfile.TemporaryDirectory(prefix="layerwalk-toy-")  # removed when the serving process exits


def create_app() -> FastAPI:
    """The app serving the toy family alone (for uvicorn's --factory)."""
    register()
    return create_layerwalk(Settings(weights_dir=weights_in(Path(_FOLDER.name))))
