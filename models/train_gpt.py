"""Training the tiny GPT on the generated grammar, and scoring it on held-out sentences."""

from __future__ import annotations

import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable
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


def packed(draw: Callable[[], grammar.Sentence], n_ctx: int) -> list[str]:
    """Sentences back to back until n_ctx + 1 words: one training row, so every position of the context is used."""
    words: list[str] = []
    while len(words) < n_ctx + 1:
        words += draw().tokens
    return words[: n_ctx + 1]


def placements(
    sentences: list[grammar.Sentence], n_ctx: int, seed: int
) -> list[tuple[list[str], int, grammar.Sentence]]:
    """Each held-out sentence twice: alone at the start of the context, and after other held-out sentences so
    that it ends at the context's last position. Returns (words, where the sentence starts, the sentence)."""
    rng = random.Random(seed)
    out = []
    for s in sentences:
        out.append((list(s.tokens), 0, s))
        before: list[str] = []
        while len(before) + len(s.tokens) < n_ctx:
            before = list(rng.choice(sentences).tokens) + before
        before = before[len(before) + len(s.tokens) - n_ctx :]  # s ends at position n_ctx - 1
        out.append((before + list(s.tokens), len(before), s))
    return out


def evaluate(model: GPT, sentences: list[grammar.Sentence], tok: WordTokenizer, seed: int = 0) -> dict[str, float]:
    """Next-token accuracy on held-out sentences, alone and at the end of a full context: over every word of a
    sentence after its first ("heldout"), and over each kind of scored position."""
    hits: dict[str, list[bool]] = defaultdict(list)
    with torch.no_grad():
        for words, start, sentence in placements(sentences, model.config.n_ctx, seed):
            ids = torch.tensor([[tok.ids[w] for w in words]])  # [1, pos]
            right = (model(ids)[0, :-1].argmax(-1) == ids[0, 1:]).tolist()  # right[i]: word i + 1 predicted
            hits["heldout"] += right[start:]
            for position, kind in sentence.scored:
                hits[kind].append(right[start + position - 1])
    metrics = {}
    for kind, values in sorted(hits.items()):
        metrics[f"{kind}_accuracy"] = sum(values) / len(values)
        metrics[f"{kind}_positions"] = float(len(values))
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

    def draw() -> grammar.Sentence:  # every kind equally often
        return rng.choice(kinds[rng.choice(sorted(kinds))])

    for step in range(1, recipe.steps + 1):
        ids = torch.tensor([[tok.ids[w] for w in packed(draw, recipe.config.n_ctx)] for _ in range(recipe.batch)])
        x, y = ids[:, :-1], ids[:, 1:]  # [batch, n_ctx]
        loss = torch.nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())
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
            "sampling": "rows of n_ctx + 1 words: sentences back to back, every kind equally often",
            "evaluation": "each held-out sentence alone, and again ending at the context's last position",
            "heldout_examples": [s.text for s in test[:: max(1, len(test) // 12)]],
        },
        "optimizer": {
            "name": "AdamW",
            "lr": recipe.lr,
            "weight_decay": 0.01,
            "schedule": "cosine",
            "batch": recipe.batch,
        },
        "loss": "cross-entropy on every next word of the row",
        "epochs": recipe.steps,
        "loss_curve": curve,
        "metrics": {"final_loss": curve[-1][1], **evaluate(model, test, tok, recipe.seed)},
        **records.stamp(recipe.id, time.perf_counter() - started),
    }
    records.save(model, record, out_dir)
    return record
