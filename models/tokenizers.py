"""Tokenizers behind one small protocol: text → ids → tokens. The word tokenizer, the character tokenizer, and a
Hugging Face `tokenizer.json` read by the `tokenizers` library (BERT's WordPiece, GPT-2's byte-level BPE).
`TOKENIZERS` names the first two as records do."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol, Self

import tokenizers
from tokenizers import decoders, normalizers, pre_tokenizers, processors

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


def wordpiece(vocab: list[str]) -> tokenizers.Tokenizer:
    """BERT's uncased WordPiece over `vocab` (which holds [UNK], [CLS] and [SEP]), as a `tokenizers` Tokenizer: what
    a Hugging Face BERT folder's tokenizer.json describes."""
    ids = {token: i for i, token in enumerate(vocab)}
    tokenizer = tokenizers.Tokenizer(tokenizers.models.WordPiece(ids, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.BertProcessing(("[SEP]", ids["[SEP]"]), ("[CLS]", ids["[CLS]"]))
    tokenizer.decoder = decoders.WordPiece()
    return tokenizer


class FileTokenizer:
    """A Hugging Face `tokenizer.json` read by the `tokenizers` library, whatever its model: the file says how text is
    normalised, split and wrapped in special tokens. The file's own padding and truncation are turned off: one text
    is one row, never cut short silently.

    `size`: the model's vocabulary when it has more rows than the file has tokens (a table padded to a round
    number); the rows without a token are named `<unused N>`, so every id a model can predict has a name."""

    def __init__(self, tokenizer: tokenizers.Tokenizer, size: int = 0) -> None:
        self._tokenizer = tokenizer
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        ids = self._tokenizer.get_vocab()
        n = max(size, 1 + max(ids.values(), default=-1))
        self._vocab = [f"<unused {i}>" for i in range(n)]
        for token, i in ids.items():
            self._vocab[i] = token
        self._ids = {token: i for i, token in enumerate(self._vocab)}

    @classmethod
    def from_file(cls, path: Path, size: int = 0) -> Self:
        """A Hugging Face `tokenizer.json`."""
        return cls(tokenizers.Tokenizer.from_file(str(path)), size)

    @property
    def vocab(self) -> list[str]:
        return self._vocab

    def id_of(self, token: str) -> int:
        return self._ids[token]

    def encode(self, text: str) -> list[int]:
        """The ids of `text`'s pieces, with the special tokens the file adds (as the model was trained to read)."""
        return list(self._tokenizer.encode(text).ids)

    def decode(self, ids: list[int]) -> list[str]:
        return [self._vocab[i] for i in ids]

    def text(self, ids: list[int]) -> str:
        """The pieces joined back into text as the file's decoder joins them, special tokens kept."""
        return self._tokenizer.decode(ids, skip_special_tokens=False)


class WordPieceTokenizer(FileTokenizer):
    """BERT's: lower-cased words split into WordPiece pieces (`eat`, `##ing`), between `[CLS]` and `[SEP]`. A word
    outside the vocabulary becomes `[UNK]` rather than an error."""

    @classmethod
    def from_vocab(cls, vocab: list[str]) -> Self:
        """BERT's uncased WordPiece over `vocab` (see `wordpiece`)."""
        return cls(wordpiece(vocab))


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
