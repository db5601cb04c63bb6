"""Training the tiny translator on the generated English → French corpus, and scoring held-out sentences."""

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
from models.data import translation
from models.generation import generate
from models.seq2seq import Seq2Seq, Seq2SeqConfig
from models.tokenizers import WordTokenizer

EN, FR = translation.vocabularies()


@dataclass(frozen=True)
class Seq2SeqRecipe:
    id: str
    title: str
    description: str
    config: Seq2SeqConfig
    seed: int
    steps: int
    batch: int
    lr: float


SEQ2SEQ_RECIPES: dict[str, Seq2SeqRecipe] = {
    "tiny-translator": Seq2SeqRecipe(
        id="tiny-translator",
        title="Tiny translator: English → French, 2 + 2 layers",
        description="An encoder–decoder transformer trained here on generated sentences: adjectives that move "
        "after the noun, gender and number agreement. Shows all three attentions.",
        config=Seq2SeqConfig(source_vocab=tuple(EN), target_vocab=tuple(FR), n_ctx=16, d_model=32, n_heads=4),
        seed=0,
        steps=3000,
        batch=64,
        lr=3e-3,
    )
}


def tensors(pairs: list[translation.Pair], en: WordTokenizer, fr: WordTokenizer) -> tuple[torch.Tensor, ...]:
    """Source ids, decoder input (<s> + French) and targets (French + </s>); all pairs of one length."""
    source = torch.tensor([[en.ids[w] for w in p.english] for p in pairs])  # [batch, source_pos]
    french = [[fr.ids[w] for w in p.french] for p in pairs]
    bos, eos = fr.ids[translation.BOS], fr.ids[translation.EOS]
    return source, torch.tensor([[bos, *f] for f in french]), torch.tensor([[*f, eos] for f in french])


def translate(model: Seq2Seq, source: list[int], max_new_tokens: int = 15) -> list[int]:
    """Greedy decoding from <s> until </s>: the French ids, without the start and end tokens."""
    vocab = list(model.config.target_vocab)
    memory_source = torch.tensor([source])

    def next_logits(context: list[int]) -> torch.Tensor:
        with torch.no_grad():
            logits: torch.Tensor = model(memory_source, torch.tensor([context]))[0, -1]
        return logits

    bos, eos = vocab.index(model.config.bos), vocab.index(model.config.eos)
    g = generate(next_logits, [bos], eos_id=eos, max_new_tokens=max_new_tokens, seed=0, temperature=0.0)
    return [i for i in g.ids if i != eos]


def evaluate(model: Seq2Seq, pairs: list[translation.Pair]) -> dict[str, float]:
    """Token accuracy (teacher-forced: each next French word given the right ones before it, and </s>) and exact
    match (greedy translation equal to the reference)."""
    en, fr = WordTokenizer(list(model.config.source_vocab)), WordTokenizer(list(model.config.target_vocab))
    right = total = exact = 0
    with torch.no_grad():
        for p in pairs:
            source, decoder_in, target = tensors([p], en, fr)
            hits = model(source, decoder_in).argmax(-1) == target
            right, total = right + int(hits.sum()), total + hits.numel()
            exact += fr.decode(translate(model, source[0].tolist())) == list(p.french)
    return {"token_accuracy": right / total, "exact_match": exact / len(pairs), "heldout_pairs": float(len(pairs))}


def train_seq2seq(recipe: Seq2SeqRecipe, out_dir: Path, progress: bool = True) -> dict[str, Any]:
    started = time.perf_counter()
    torch.set_num_threads(1)
    torch.manual_seed(recipe.seed)
    rng = random.Random(recipe.seed)
    train, test = translation.corpus(recipe.seed)
    en, fr = WordTokenizer(list(recipe.config.source_vocab)), WordTokenizer(list(recipe.config.target_vocab))
    by_length: dict[int, list[translation.Pair]] = defaultdict(list)
    for p in train:
        by_length[len(p.english)].append(p)  # one length per batch: no padding for the encoder to attend to
    lengths = sorted(by_length)
    weights = [len(by_length[n]) for n in lengths]
    model = Seq2Seq(recipe.config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=recipe.steps)
    curve: list[list[float]] = []
    for step in range(1, recipe.steps + 1):
        group = by_length[rng.choices(lengths, weights)[0]]
        source, decoder_in, target = tensors([rng.choice(group) for _ in range(recipe.batch)], en, fr)
        loss = torch.nn.functional.cross_entropy(model(source, decoder_in).flatten(0, 1), target.flatten())
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        schedule.step()
        if records.keeps_loss(step, recipe.steps):
            curve.append([step, loss.item()])
        if progress and step % (recipe.steps // 10) == 0:
            print(f"{recipe.id}: step {step}/{recipe.steps}  loss {loss.item():.3f}", file=sys.stderr)
    model.eval()
    examples = [
        {"english": " ".join(p.english), "reference": " ".join(p.french),
         "output": " ".join(fr.decode(translate(model, [en.ids[w] for w in p.english])))}
        for p in test[:8]
    ]  # fmt: skip
    record = {
        "id": recipe.id,
        "family": "seq2seq",
        "title": recipe.title,
        "description": recipe.description,
        "config": recipe.config.to_dict(),
        "seed": recipe.seed,
        "init": "PyTorch defaults",
        "data": {
            "corpus": "models/data/translation.py, generated here: determiners, adjectives and nouns with agreement",
            "n_train": len(train),
            "n_heldout": len(test),
            "batches": "each batch draws pairs of one length (English and French lengths match), so nothing is padded",
            "heldout_examples": examples,
        },
        "optimizer": {
            "name": "AdamW",
            "lr": recipe.lr,
            "weight_decay": 0.01,
            "schedule": "cosine",
            "batch": recipe.batch,
        },
        "loss": "cross-entropy on every next French word and the end token (teacher forcing)",
        "epochs": recipe.steps,
        "loss_curve": curve,
        "metrics": {"final_loss": curve[-1][1], **evaluate(model, test)},
        **records.stamp(recipe.id, time.perf_counter() - started),
    }
    records.save(model, record, out_dir)
    return record
