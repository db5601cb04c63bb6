"""The text nets' recipe: full batch on the article's six pairs with cross-entropy, trying seeds in order until one
shows what the model is for (the dog → dog trap, or every pair learned)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from models.data.textpairs import EOS, PAIRS, VOCAB
from models.generation import generate
from models.textnet import TextNet, TextNetConfig
from models.training.recipe import Outcome, Recipe, Setup
from models.training.record import Optimizer

CHAIN_LENGTH = 10  # greedy chains in the record stop after this many new tokens at most
WHY = {
    "dog-loop": (
        "the first seed whose greedy chain from some word repeats dog → dog (the article's trap) while the net still "
        "tells words apart; on other seeds with the loop every ReLU died and every word predicts dog"
    ),
    "all-pairs": "the first seed that predicts all six pairs",
}


@dataclass(frozen=True, kw_only=True)
class TextNetRecipe(Recipe):
    family = "textnet"
    config: TextNetConfig
    wants: Literal["dog-loop", "all-pairs"]  # the first of the seeds that shows this is kept
    loss: str = "cross-entropy"

    def setup(self, seed: int) -> Setup:
        model = TextNet(self.config)
        ids = {w: i for i, w in enumerate(self.config.vocab)}
        x = torch.tensor([ids[a] for a, _ in PAIRS])  # [pairs]
        y = torch.tensor([ids[b] for _, b in PAIRS])  # [pairs]
        return Setup(model, lambda _step: torch.nn.functional.cross_entropy(model(x), y))

    def evaluate(self, model: nn.Module, seed: int, curve: list[list[float]]) -> Outcome:
        assert isinstance(model, TextNet)
        pairs, chains = predictions(model), greedy_chains(model)
        right = sum(p["predicted"] == p["target"] for p in pairs)
        distinct = len({p["predicted"] for p in pairs})
        ok = meets(self.wants, pairs, chains)
        return Outcome(
            metrics={"final_loss": curve[-1][1], "pairs_right": float(right)},
            data={"pairs": [list(p) for p in PAIRS], "vocab": list(self.config.vocab)},
            extra={"predictions": pairs, "greedy_chains": chains},
            accepted=ok,
            summary={"seed": seed, "pairs_right": right, "distinct_predictions": distinct, "meets": ok},
        )

    def seed_search(self, outcomes: list[Outcome]) -> dict[str, Any]:
        return {"seed_search": {"wants": self.wants, "why": WHY[self.wants], "tried": [o.summary for o in outcomes]}}


RECIPES: dict[str, Recipe] = {
    r.id: r
    for r in [
        TextNetRecipe(
            id="textnet-2d-sgd",
            title="Text net, 2-D embeddings, plain SGD",
            description="The article's smallest text net. Plain SGD leaves it in a local minimum: dog predicts dog.",
            config=TextNetConfig(vocab=tuple(VOCAB), eos=EOS, d_embed=2, d_hidden=2),
            optimizer=Optimizer("SGD", lr=0.1),
            steps=500,
            seeds=tuple(range(50)),
            wants="dog-loop",
        ),
        TextNetRecipe(
            id="textnet-4d-adam",
            title="Text net, 4-D embeddings, Adam",
            description="Twice the width and Adam: it learns all six pairs, so every greedy chain reaches '!'.",
            config=TextNetConfig(vocab=tuple(VOCAB), eos=EOS, d_embed=4, d_hidden=4),
            optimizer=Optimizer("Adam", lr=0.05),
            steps=500,
            seeds=tuple(range(50)),
            wants="all-pairs",
        ),
    ]
}


def predictions(model: TextNet) -> list[dict[str, Any]]:
    """The net's greedy prediction for each training pair, with its probability."""
    vocab = list(model.config.vocab)
    with torch.no_grad():
        probs = torch.softmax(model(torch.tensor([vocab.index(a) for a, _ in PAIRS])), dim=-1)  # [pairs, vocab]
    return [
        {"input": a, "target": b, "predicted": vocab[int(p.argmax())], "prob": round(float(p.max()), 4)}
        for (a, b), p in zip(PAIRS, probs, strict=True)
    ]


def greedy_chains(model: TextNet) -> list[dict[str, Any]]:
    """Greedy generation from every word: the chain, and why it stopped."""
    vocab = list(model.config.vocab)

    def next_logits(context: list[int]) -> torch.Tensor:
        with torch.no_grad():
            logits: torch.Tensor = model(torch.tensor(context[-1:]))[0]  # [vocab]
        return logits

    chains = []
    for start, word in enumerate(vocab):
        if word == model.config.eos:
            continue
        g = generate(
            next_logits, [start], eos_id=vocab.index(model.config.eos), max_new_tokens=CHAIN_LENGTH, seed=0,
            temperature=0.0, reads=lambda context: tuple(context[-1:]),
        )  # fmt: skip
        loop = [vocab[i] for i in g.loop] if g.loop else None
        chains.append(
            {"start": word, "chain": [word, *(vocab[i] for i in g.ids)], "stop_reason": g.stop_reason, "loop": loop}
        )
    return chains


def meets(wants: str, pairs: list[dict[str, Any]], chains: list[dict[str, Any]]) -> bool:
    if wants == "dog-loop":  # and not a dead net that predicts dog for every word
        distinct = len({p["predicted"] for p in pairs})
        return distinct >= 2 and any(c["loop"] == ["dog", "dog"] for c in chains)
    return all(p["predicted"] == p["target"] for p in pairs)
