"""Any UTF-8 text as a character corpus: its last 10% held out from a line break, its unigram baseline, and a clear
error for a file that cannot be trained on."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from models.data.chartext import CharText, CorpusError, from_file


def test_a_file_is_split_at_a_line_break_near_its_last_tenth(tmp_path: Path) -> None:
    lines = [f"line {i:03d} of the poem" for i in range(200)]
    path = tmp_path / "poem.txt"
    path.write_text("\n".join(lines) + "\n")
    text = from_file(path)
    assert text.train + text.validation == path.read_text()
    assert text.validation.startswith("line 180")
    assert text.about["corpus"] == "poem.txt"


def test_the_unigram_baseline_is_the_held_out_cross_entropy_of_training_frequencies() -> None:
    text = CharText(train="aab", validation="ab")  # counts a 2, b 1, add-one over 2 characters: 3/5, 2/5
    assert text.unigram_loss() == pytest.approx(-(math.log(3 / 5) + math.log(2 / 5)) / 2)


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "no such file"), ("", "is empty"), ("   \n", "is empty"), ("short", "holds 5 characters"),
     (b"\xff\xfe not utf-8" * 200, "not UTF-8")],
)  # fmt: skip
def test_a_file_that_cannot_be_trained_on_is_named_with_the_fix(
    tmp_path: Path, content: str | bytes | None, problem: str
) -> None:
    path = tmp_path / "corpus.txt"
    if isinstance(content, str):
        path.write_text(content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(CorpusError, match=problem) as error:
        from_file(path)
    assert str(path) in str(error.value)
