"""Shakespeare's plays as plain text: the Markdown goes, speakers read as 'NAME:', every play is split into its
first 90% (training) and its last 10% (held out), in the same order on every run."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.data import shakespeare

BREAK = "  "  # Markdown's line break: two trailing spaces
MARKDOWN = "\n".join([
    "# The Tragedy of Tests", "", "## ACT I", "", "### SCENE I. A room.", "", "_Enter ROMEO and JULIET_", "",
    "**ROMEO**" + BREAK, "But soft! what light through yonder window breaks?" + BREAK,
    "\\--It is the east, and *Juliet* is the sun.", "", "**JULIET**" + BREAK, "__\\[Aside]_" + BREAK, "Ay me!",
    "", "", "", "_Exeunt_", "",
])  # fmt: skip


def test_strip_leaves_the_words_and_no_markup() -> None:
    text = shakespeare.strip(MARKDOWN)
    assert text.splitlines() == [
        "The Tragedy of Tests", "", "ACT I", "", "SCENE I. A room.", "", "Enter ROMEO and JULIET", "",
        "ROMEO:", "But soft! what light through yonder window breaks?", "--It is the east, and Juliet is the sun.", "",
        "JULIET:", "[Aside]", "Ay me!", "", "Exeunt",
    ]  # fmt: skip


def test_plays_are_read_in_genre_then_name_order(tmp_path: Path) -> None:
    for name in ["tragedies/b.md", "comedies/z.md", "tragedies/a.md"]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(f"# {name}\n\n**A**  \nline\n")
    assert [play.name for play in shakespeare.plays(tmp_path)] == ["comedies/z", "tragedies/a", "tragedies/b"]


def test_a_play_splits_at_a_paragraph_break_near_its_last_tenth() -> None:
    play = shakespeare.Play("t/t", "\n\n".join(f"paragraph {i:02d}" for i in range(100)))
    train, held_out = play.split()
    assert train + "\n\n" + held_out == play.text
    assert held_out.startswith("paragraph 90")


@pytest.fixture(scope="module")
def plays() -> list[shakespeare.Play]:
    return shakespeare.plays()


def test_the_wheel_gives_38_plays_with_no_markup_left(plays: list[shakespeare.Play]) -> None:
    assert len(plays) == 38
    assert [p.name for p in plays] == sorted(p.name for p in plays)
    text = "".join(p.text for p in plays)
    assert not set("*_#\\") & set(text)
    assert "  \n" not in text
    assert "\n\n\n" not in text
    assert "ROMEO:\n" in text
    assert "HAMLET:\n" in text


def test_the_corpus_is_each_plays_start_then_each_plays_end(plays: list[shakespeare.Play]) -> None:
    corpus = shakespeare.corpus()
    parts = [play.split() for play in plays]
    assert corpus.train == "\n\n".join(train for train, _ in parts)
    assert corpus.validation == "\n\n".join(held for _, held in parts)
    for play, (train, held) in zip(plays, parts, strict=True):
        assert train + "\n\n" + held == play.text  # disjoint, and nothing lost
        assert 0.08 < len(held) / len(play.text) < 0.12
    assert corpus.about["plays"] == [p.name for p in plays]
    assert len(corpus.train) > 4_000_000
    assert len(corpus.validation) > 400_000


def test_the_corpus_is_the_same_on_every_read(plays: list[shakespeare.Play]) -> None:
    again = shakespeare.plays()
    assert again == plays
    assert len(shakespeare.corpus().vocabulary()) == 80
