"""Training the tiny text nets on the article's six pairs, and finding a seed that shows the dog → dog trap."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from models import records
from models.data.textpairs import EOS, PAIRS, VOCAB
from models.generation import generate
from models.textnet import TextNet, TextNetConfig

CHAIN_LENGTH = 10  # greedy chains in the record stop after this many new tokens at most


@dataclass(frozen=True)
class TextNetRecipe:
    id: str
    title: str
    description: str
    config: TextNetConfig
    optimizer: Literal["SGD", "Adam"]
    lr: float
    epochs: int
    seeds: tuple[int, ...]  # tried in order; the first that meets `wants` is kept
    wants: Literal["dog-loop", "all-pairs"]


TEXTNET_RECIPES: dict[str, TextNetRecipe] = {
    r.id: r
    for r in [
        TextNetRecipe(
            id="textnet-2d-sgd",
            title="Text net, 2-D embeddings, plain SGD",
            description="The article's smallest text net. Plain SGD leaves it in a local minimum: dog predicts dog.",
            config=TextNetConfig(vocab=tuple(VOCAB), eos=EOS, d_embed=2, d_hidden=2),
            optimizer="SGD",
            lr=0.1,
            epochs=500,
            seeds=tuple(range(50)),
            wants="dog-loop",
        ),
        TextNetRecipe(
            id="textnet-4d-adam",
            title="Text net, 4-D embeddings, Adam",
            description="Twice the width and Adam: it learns all six pairs, so every greedy chain reaches '!'.",
            config=TextNetConfig(vocab=tuple(VOCAB), eos=EOS, d_embed=4, d_hidden=4),
            optimizer="Adam",
            lr=0.05,
            epochs=500,
            seeds=tuple(range(50)),
            wants="all-pairs",
        ),
    ]
}


def fit(recipe: TextNetRecipe, seed: int) -> tuple[TextNet, list[list[float]]]:
    """Full-batch training on the six pairs with cross-entropy; returns the net and its loss curve."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    model = TextNet(recipe.config)
    ids = {w: i for i, w in enumerate(recipe.config.vocab)}
    x = torch.tensor([ids[a] for a, _ in PAIRS])  # [pairs]
    y = torch.tensor([ids[b] for _, b in PAIRS])  # [pairs]
    optimizer_class = torch.optim.SGD if recipe.optimizer == "SGD" else torch.optim.Adam
    optimizer = optimizer_class(model.parameters(), lr=recipe.lr)
    curve: list[list[float]] = []
    for epoch in range(1, recipe.epochs + 1):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        if records.keeps_loss(epoch, recipe.epochs):
            curve.append([epoch, loss.item()])
    model.eval()
    return model, curve


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


def train_textnet(recipe: TextNetRecipe, out_dir: Path, progress: bool = True) -> dict[str, Any]:
    """Try the recipe's seeds in order, keep the first that shows what the model is for, write it to out_dir."""
    started = time.perf_counter()
    tried = []
    for seed in recipe.seeds:
        model, curve = fit(recipe, seed)
        pairs, chains = predictions(model), greedy_chains(model)
        ok = meets(recipe.wants, pairs, chains)
        right = sum(p["predicted"] == p["target"] for p in pairs)
        distinct = len({p["predicted"] for p in pairs})
        tried.append({"seed": seed, "pairs_right": right, "distinct_predictions": distinct, "meets": ok})
        if progress:
            print(
                f"{recipe.id}: seed {seed}: {tried[-1]['pairs_right']}/6 pairs, meets {recipe.wants}: {ok}",
                file=sys.stderr,
            )
        if ok:
            break
    else:
        raise RuntimeError(f"{recipe.id}: no seed in {recipe.seeds} meets {recipe.wants!r}")
    record = {
        "id": recipe.id,
        "family": "textnet",
        "title": recipe.title,
        "description": recipe.description,
        "config": recipe.config.to_dict(),
        "seed": seed,
        "seed_search": {
            "wants": recipe.wants,
            "why": {
                "dog-loop": (
                    "the first seed whose greedy chain from some word repeats dog → dog (the article's trap) while "
                    "the net still tells words apart; on other seeds with the loop every ReLU died and every word "
                    "predicts dog"
                ),
                "all-pairs": "the first seed that predicts all six pairs",
            }[recipe.wants],
            "tried": tried,
        },
        "init": "PyTorch defaults",
        "data": {"pairs": [list(p) for p in PAIRS], "vocab": list(recipe.config.vocab)},
        "optimizer": {"name": recipe.optimizer, "lr": recipe.lr, "batch": "full"},
        "loss": "cross-entropy",
        "epochs": recipe.epochs,
        "loss_curve": curve,
        "metrics": {
            "final_loss": curve[-1][1],
            "pairs_right": float(sum(p["predicted"] == p["target"] for p in pairs)),
        },
        "predictions": pairs,
        "greedy_chains": chains,
        **records.stamp(recipe.id, time.perf_counter() - started),
    }
    records.save(model, record, out_dir)
    return record
