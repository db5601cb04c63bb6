"""The translator's recipe: AdamW with a cosine decay on batches of pairs of one length (nothing padded), teacher
forcing; scored by token accuracy and exact match of greedy translations on held-out pairs."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

import torch
from torch import nn

from models.data import translation
from models.generation import generate
from models.seq2seq import Seq2Seq, Seq2SeqConfig
from models.tokenizers import WordTokenizer
from models.training.recipe import Outcome, Recipe, Setup
from models.training.record import Optimizer

EN, FR = translation.vocabularies()


@dataclass(frozen=True, kw_only=True)
class Seq2SeqRecipe(Recipe):
    family = "seq2seq"
    config: Seq2SeqConfig
    loss: str = "cross-entropy on every next French word and the end token (teacher forcing)"

    def setup(self, seed: int) -> Setup:
        rng = random.Random(seed)
        train, _ = translation.corpus(seed)
        en, fr = WordTokenizer(list(self.config.source_vocab)), WordTokenizer(list(self.config.target_vocab))
        by_length: dict[int, list[translation.Pair]] = defaultdict(list)
        for p in train:
            by_length[len(p.english)].append(p)  # one length per batch: no padding for the encoder to attend to
        lengths = sorted(by_length)
        weights = [len(by_length[n]) for n in lengths]
        model = Seq2Seq(self.config)
        batch = self.optimizer.batch
        assert isinstance(batch, int), "pairs are drawn in batches"

        def loss_at(_step: int) -> torch.Tensor:
            group = by_length[rng.choices(lengths, weights)[0]]
            source, decoder_in, target = tensors([rng.choice(group) for _ in range(batch)], en, fr)
            return torch.nn.functional.cross_entropy(model(source, decoder_in).flatten(0, 1), target.flatten())

        return Setup(model, loss_at)

    def evaluate(self, model: nn.Module, seed: int, curve: list[list[float]]) -> Outcome:
        assert isinstance(model, Seq2Seq)
        train, test = translation.corpus(seed)
        en, fr = WordTokenizer(list(self.config.source_vocab)), WordTokenizer(list(self.config.target_vocab))
        examples = [
            {"english": " ".join(p.english), "reference": " ".join(p.french),
             "output": fr.text(translate(model, [en.id_of(w) for w in p.english]))}
            for p in test[:8]
        ]  # fmt: skip
        data = {
            "corpus": "models/data/translation.py, generated here: determiners, adjectives and nouns with agreement",
            "n_train": len(train),
            "n_heldout": len(test),
            "batches": "each batch draws pairs of one length (English and French lengths match), so nothing is padded",
            "heldout_examples": examples,
        }
        return Outcome({"final_loss": curve[-1][1], **evaluate(model, test)}, data)


RECIPES: dict[str, Recipe] = {
    "tiny-translator": Seq2SeqRecipe(
        id="tiny-translator",
        title="Tiny translator: English → French, 2 + 2 layers",
        description="An encoder–decoder transformer trained here on generated sentences: adjectives that move "
        "after the noun, gender and number agreement. Shows all three attentions.",
        config=Seq2SeqConfig(source_vocab=tuple(EN), target_vocab=tuple(FR), n_ctx=16, d_model=32, n_heads=4),
        seeds=(0,),
        checkpoints=24,  # 263 KB each: fewer than the small nets' 50
        steps=3000,
        optimizer=Optimizer("AdamW", lr=3e-3, batch=64, schedule="cosine decay to 0", weight_decay=0.01),
    )
}


def tensors(pairs: list[translation.Pair], en: WordTokenizer, fr: WordTokenizer) -> tuple[torch.Tensor, ...]:
    """Source ids, decoder input (<s> + French) and targets (French + </s>); all pairs of one length."""
    source = torch.tensor([[en.id_of(w) for w in p.english] for p in pairs])  # [batch, source_pos]
    french = [[fr.id_of(w) for w in p.french] for p in pairs]
    bos, eos = fr.id_of(translation.BOS), fr.id_of(translation.EOS)
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
