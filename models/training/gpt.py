"""The GPT's recipe: AdamW with a cosine decay on rows of generated sentences packed back to back, scored on
held-out sentences alone and at the end of a full context."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from models.data import grammar
from models.gpt import GPT, GPTConfig
from models.tokenizers import WordTokenizer
from models.training.recipe import Outcome, Recipe, Setup
from models.training.record import Optimizer


@dataclass(frozen=True, kw_only=True)
class GPTRecipe(Recipe):
    family = "gpt"
    config: GPTConfig
    loss: str = "cross-entropy on every next word of the row"

    def setup(self, seed: int) -> Setup:
        rng = random.Random(seed)
        train, _ = grammar.corpus(seed)
        tok = WordTokenizer(list(self.config.vocab))
        kinds: dict[str, list[grammar.Sentence]] = defaultdict(list)
        for sentence in train:
            kinds[sentence.scored[0][1] if sentence.scored else "bites"].append(sentence)
        model = GPT(self.config)

        def draw() -> grammar.Sentence:  # every kind equally often
            return rng.choice(kinds[rng.choice(sorted(kinds))])

        batch = self.optimizer.batch
        assert isinstance(batch, int), "rows are drawn in batches"

        def loss_at(_step: int) -> torch.Tensor:
            rows = [[tok.id_of(w) for w in packed(draw, self.config.n_ctx)] for _ in range(batch)]
            ids = torch.tensor(rows)
            x, y = ids[:, :-1], ids[:, 1:]  # [batch, n_ctx]
            return torch.nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())

        return Setup(model, loss_at)

    def evaluate(self, model: nn.Module, seed: int, curve: list[list[float]]) -> Outcome:
        assert isinstance(model, GPT)
        train, test = grammar.corpus(seed)
        data = {
            "corpus": "models/data/grammar.py, generated here: order, agreement, pronoun, sense and bites sentences",
            "n_train": len(train),
            "n_heldout": len(test),
            "sampling": "rows of n_ctx + 1 words: sentences back to back, every kind equally often",
            "evaluation": "each held-out sentence alone, and again ending at the context's last position",
            "heldout_examples": [s.text for s in test[:: max(1, len(test) // 12)]],
        }
        tok = WordTokenizer(list(self.config.vocab))
        return Outcome({"final_loss": curve[-1][1], **evaluate(model, test, tok, seed)}, data)


RECIPES: dict[str, Recipe] = {
    "tiny-gpt": GPTRecipe(
        id="tiny-gpt",
        title="Tiny GPT: 2 layers, 4 heads, d_model 32",
        description="A decoder-only transformer trained here on a generated grammar of who-did-what, agreement, "
        "pronouns and word sense. Small enough to print every number.",
        config=GPTConfig(vocab=tuple(grammar.vocabulary()), eos=".", n_ctx=24, d_model=32, n_heads=4, n_layers=2),
        seeds=(0,),
        steps=4000,
        optimizer=Optimizer("AdamW", lr=3e-3, batch=64, schedule="cosine decay to 0", weight_decay=0.01),
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
            ids = torch.tensor([[tok.id_of(w) for w in words]])  # [1, pos]
            right = (model(ids)[0, :-1].argmax(-1) == ids[0, 1:]).tolist()  # right[i]: word i + 1 predicted
            hits["heldout"] += right[start:]
            for position, kind in sentence.scored:
                hits[kind].append(right[start + position - 1])
    metrics = {}
    for kind, values in sorted(hits.items()):
        metrics[f"{kind}_accuracy"] = sum(values) / len(values)
        metrics[f"{kind}_positions"] = float(len(values))
    return metrics
