"""Training the tiny GPT on the generated grammar, and scoring it on held-out sentences."""

from __future__ import annotations

import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from models import records
from models.data import grammar
from models.gpt import GPT, GPTConfig
from models.tokenizers import WordTokenizer


@dataclass(frozen=True)
class GPTRecipe:
    id: str
    title: str
    description: str
    config: GPTConfig
    seed: int
    steps: int
    batch: int
    lr: float


GPT_RECIPES: dict[str, GPTRecipe] = {
    "tiny-gpt": GPTRecipe(
        id="tiny-gpt",
        title="Tiny GPT: 2 layers, 4 heads, d_model 32",
        description="A decoder-only transformer trained here on a generated grammar of who-did-what, agreement, "
        "pronouns and word sense. Small enough to print every number.",
        config=GPTConfig(vocab=tuple(grammar.vocabulary()), eos=".", n_ctx=24, d_model=32, n_heads=4, n_layers=2),
        seed=0,
        steps=4000,
        batch=64,
        lr=3e-3,
    )
}


def batch_of(sentences: list[grammar.Sentence], tok: WordTokenizer, n_ctx: int) -> tuple[torch.Tensor, ...]:
    """Inputs, targets and a mask of the real (unpadded) targets: each [batch, n_ctx - 1]."""
    width = n_ctx - 1
    x = torch.zeros(len(sentences), width, dtype=torch.long)
    y = torch.zeros(len(sentences), width, dtype=torch.long)
    mask = torch.zeros(len(sentences), width, dtype=torch.bool)
    for row, sentence in enumerate(sentences):
        ids = tok.encode(sentence.text)
        n = len(ids) - 1
        x[row, :n], y[row, :n], mask[row, :n] = torch.tensor(ids[:-1]), torch.tensor(ids[1:]), True
    return x, y, mask


def evaluate(model: GPT, sentences: list[grammar.Sentence], tok: WordTokenizer) -> dict[str, float]:
    """Next-token accuracy over every position of the sentences, and over each kind of scored position."""
    x, y, mask = batch_of(sentences, tok, model.config.n_ctx)
    with torch.no_grad():
        right = model(x).argmax(-1) == y  # [sentences, n_ctx - 1]
    metrics = {"heldout_accuracy": float(right[mask].float().mean())}
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for row, sentence in enumerate(sentences):
        for position, kind in sentence.scored:
            by_kind[kind].append(bool(right[row, position - 1]))  # the token at `position` is predicted there
    for kind, hits in sorted(by_kind.items()):
        metrics[f"{kind}_accuracy"] = sum(hits) / len(hits)
        metrics[f"{kind}_positions"] = float(len(hits))
    return metrics


def train_gpt(recipe: GPTRecipe, out_dir: Path, progress: bool = True) -> dict[str, Any]:
    started = time.perf_counter()
    torch.set_num_threads(1)
    torch.manual_seed(recipe.seed)
    rng = random.Random(recipe.seed)
    train, test = grammar.corpus(recipe.seed)
    tok = WordTokenizer(list(recipe.config.vocab))
    kinds: dict[str, list[grammar.Sentence]] = defaultdict(list)
    for sentence in train:
        kinds[sentence.scored[0][1] if sentence.scored else "bites"].append(sentence)
    model = GPT(recipe.config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=recipe.steps)
    curve: list[list[float]] = []
    for step in range(1, recipe.steps + 1):
        chosen = [rng.choice(kinds[rng.choice(sorted(kinds))]) for _ in range(recipe.batch)]  # kinds equally often
        x, y, mask = batch_of(chosen, tok, recipe.config.n_ctx)
        loss = torch.nn.functional.cross_entropy(model(x)[mask], y[mask])
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        schedule.step()
        if records.keeps_loss(step, recipe.steps):
            curve.append([step, loss.item()])
        if progress and step % (recipe.steps // 10) == 0:
            print(f"{recipe.id}: step {step}/{recipe.steps}  loss {loss.item():.3f}", file=sys.stderr)
    model.eval()
    record = {
        "id": recipe.id,
        "family": "gpt",
        "title": recipe.title,
        "description": recipe.description,
        "config": recipe.config.to_dict(),
        "seed": recipe.seed,
        "init": "PyTorch defaults",
        "data": {
            "corpus": "models/data/grammar.py, generated here: order, agreement, pronoun, sense and bites sentences",
            "n_train": len(train),
            "n_heldout": len(test),
            "sampling": "each batch draws every kind of sentence equally often",
            "heldout_examples": [s.text for s in test[:: max(1, len(test) // 12)]],
        },
        "optimizer": {
            "name": "AdamW",
            "lr": recipe.lr,
            "weight_decay": 0.01,
            "schedule": "cosine",
            "batch": recipe.batch,
        },
        "loss": "cross-entropy on every next token",
        "epochs": recipe.steps,
        "loss_curve": curve,
        "metrics": {"final_loss": curve[-1][1], **evaluate(model, test, tok)},
        **records.stamp(recipe.id, time.perf_counter() - started),
    }
    records.save(model, record, out_dir)
    return record
