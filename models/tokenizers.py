"""Tokenizers behind one small protocol: text → ids → tokens. A word tokenizer and a character tokenizer; a
WordPiece one (the `tokenizers` library) fits the same protocol. `TOKENIZERS` names them as records do."""

from __future__ import annotations

import re
from typing import Protocol

WORD = re.compile(r"\w+|[^\w\s]")  # words (any script), and each punctuation mark on its own


class UnknownTokenError(ValueError):
    """A token outside the vocabulary; the message lists the vocabulary, unless a shorter `message` is given."""

    def __init__(self, token: str, vocab: list[str], message: str | None = None) -> None:
        super().__init__(message or f"'{token}' is not in the vocabulary ({', '.join(vocab)})")
        self.token = token
        self.vocab = vocab


class Tokenizer(Protocol):
    """What a text model's tokenizer offers the rest of the code."""

    @property
    def vocab(self) -> list[str]:
        """Every token, in id order."""
        ...

    def id_of(self, token: str) -> int:
        """The id of one token of the vocabulary (a KeyError for any other)."""
        ...

    def encode(self, text: str) -> list[int]:
        """The ids of `text`'s tokens; a token outside the vocabulary raises UnknownTokenError."""
        ...

    def decode(self, ids: list[int]) -> list[str]:
        """Each id's token, as the pages show it."""
        ...

    def text(self, ids: list[int]) -> str:
        """The ids as readable text: tokens joined as this tokenizer splits them."""
        ...


class WordTokenizer:
    """Lower-cases, splits into words and punctuation marks, and maps each to its id."""

    def __init__(self, vocab: list[str]) -> None:
        self._vocab = list(vocab)
        self._ids = {word: i for i, word in enumerate(self._vocab)}

    @property
    def vocab(self) -> list[str]:
        return self._vocab

    def id_of(self, token: str) -> int:
        return self._ids[token]

    def split(self, text: str) -> list[str]:
        return WORD.findall(text.lower())

    def encode(self, text: str) -> list[int]:
        words = self.split(text)
        for word in words:
            if word not in self._ids:
                raise UnknownTokenError(word, self._vocab)
        return [self._ids[word] for word in words]

    def decode(self, ids: list[int]) -> list[str]:
        return [self._vocab[i] for i in ids]

    def text(self, ids: list[int]) -> str:
        return " ".join(self.decode(ids))


class CharTokenizer:
    """Every character is a token: the vocabulary is a fixed list of characters (a model's record stores it), and
    text is read as it is, case, spaces and line breaks included."""

    def __init__(self, vocab: list[str]) -> None:
        if any(len(c) != 1 for c in vocab) or len(set(vocab)) != len(vocab):
            raise ValueError("a character vocabulary is a list of distinct single characters")
        self._vocab = list(vocab)
        self._ids = {c: i for i, c in enumerate(self._vocab)}

    @property
    def vocab(self) -> list[str]:
        return self._vocab

    def id_of(self, token: str) -> int:
        return self._ids[token]

    def encode(self, text: str) -> list[int]:
        unknown = next((c for c in text if c not in self._ids), None)
        if unknown is not None:
            shown = repr(unknown) if unknown.isprintable() else f"U+{ord(unknown):04X}"
            message = f"the character {shown} is not one of this model's {len(self._vocab)} characters"
            raise UnknownTokenError(unknown, self._vocab, message)
        return [self._ids[c] for c in text]

    def decode(self, ids: list[int]) -> list[str]:
        return [self._vocab[i] for i in ids]

    def text(self, ids: list[int]) -> str:
        return "".join(self.decode(ids))


TOKENIZERS: dict[str, type[WordTokenizer] | type[CharTokenizer]] = {"word": WordTokenizer, "char": CharTokenizer}
