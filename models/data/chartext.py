"""Text for a character-level model: a training part, a held-out part, and the record's account of where it came
from. Shakespeare's plays (models/data/shakespeare.py) are one; any UTF-8 text file is another."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HELD_OUT = 0.1  # the share of a file, at its end, held out for validation


@dataclass(frozen=True)
class CharText:
    train: str
    validation: str
    about: dict[str, Any] = field(default_factory=dict)  # the record's `data`: the corpus, how it was split

    def vocabulary(self) -> list[str]:
        """Every character of both parts, sorted by code point: the model's vocabulary, in id order."""
        return sorted(set(self.train) | set(self.validation))

    def unigram_loss(self) -> float:
        """The baseline a model must beat: the cross-entropy (nats per character) of the held-out part under the
        training part's character frequencies (add-one smoothed, so a character unseen in training costs
        something finite)."""
        counts = Counter(self.train)
        vocab = self.vocabulary()
        total = len(self.train) + len(vocab)
        held = Counter(self.validation)
        return -sum(n * math.log((counts[c] + 1) / total) for c, n in held.items()) / len(self.validation)


class CorpusError(ValueError):
    """A text that cannot be trained on; the message names the file, the problem and the fix."""


def from_file(path: Path, held_out: float = HELD_OUT, min_chars: int = 1000) -> CharText:
    """A UTF-8 text file, its last `held_out` share (cut at a line break) held out for validation."""
    if not path.is_file():
        raise CorpusError(f"{path}: no such file. Pass --corpus a UTF-8 text file.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise CorpusError(f"{path}: not UTF-8 text (byte {error.start}). Save it as UTF-8.") from None
    if len(text.strip()) < min_chars:
        found = "is empty" if not text.strip() else f"holds {len(text.strip())} characters"
        raise CorpusError(f"{path}: the text {found}. Pass at least {min_chars} characters.")
    target = int(len(text) * (1 - held_out))
    cut = text.rfind("\n", 0, target) + 1 or target  # after a line break; mid-line when there is none
    about = {
        "corpus": path.name,
        "characters": len(text),
        "split": f"the last {held_out:.0%} of the file (from a line break) held out for validation",
    }
    return CharText(text[:cut], text[cut:], about)
