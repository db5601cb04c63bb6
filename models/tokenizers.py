"""Small word tokenizers with explicit vocabularies."""

from __future__ import annotations

import re

WORD = re.compile(r"\w+|[^\w\s]")  # words (any script), and each punctuation mark on its own


class UnknownWordError(ValueError):
    """A word outside the vocabulary; the message lists the vocabulary."""

    def __init__(self, word: str, vocab: list[str]) -> None:
        super().__init__(f"'{word}' is not in the vocabulary ({', '.join(vocab)})")
        self.word = word
        self.vocab = vocab


class WordTokenizer:
    """Lower-cases, splits into words and punctuation marks, and maps each to its id."""

    def __init__(self, vocab: list[str]) -> None:
        self.vocab = list(vocab)
        self.ids = {word: i for i, word in enumerate(self.vocab)}

    def split(self, text: str) -> list[str]:
        return WORD.findall(text.lower())

    def encode(self, text: str) -> list[int]:
        """The ids of `text`'s tokens; an unknown one raises UnknownWordError."""
        words = self.split(text)
        for word in words:
            if word not in self.ids:
                raise UnknownWordError(word, self.vocab)
        return [self.ids[word] for word in words]

    def decode(self, ids: list[int]) -> list[str]:
        return [self.vocab[i] for i in ids]
