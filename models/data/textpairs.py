"""The article's tiny next-token corpus: seven words and six pairs."""

from __future__ import annotations

VOCAB = ["hello", "world", "cat", "dog", "!", "silly", "cute"]
EOS = "!"
PAIRS = [
    ("hello", "world"),
    ("cat", "dog"),
    ("dog", "!"),
    ("silly", "dog"),
    ("cute", "cat"),
    ("world", "!"),
]
