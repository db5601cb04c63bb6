"""The character tokenizer: every character a token, text read as it is and given back whole; a character outside
the vocabulary is named in a short message; records choose it by name."""

from __future__ import annotations

import pytest

from models.tokenizers import TOKENIZERS, CharTokenizer, UnknownTokenError, WordTokenizer

VOCAB = ["\n", " ", "!", ":", "A", "E", "M", "O", "R", "a", "e", "o", "r"]


def test_characters_round_trip_with_case_spaces_and_line_breaks() -> None:
    tok = CharTokenizer(VOCAB)
    text = "ROMEO:\nO Rome, a rose!"[:7] + "O rare!"
    ids = tok.encode(text)
    assert ids == [VOCAB.index(c) for c in text]
    assert tok.decode(ids) == list(text)
    assert tok.text(ids) == text
    assert [tok.id_of(c) for c in "Ra"] == [8, 9]


def test_an_unknown_character_is_named_without_listing_the_vocabulary() -> None:
    tok = CharTokenizer(VOCAB)
    with pytest.raises(UnknownTokenError) as error:
        tok.encode("Rome")
    assert error.value.token == "m"
    assert str(error.value) == "the character 'm' is not one of this model's 13 characters"
    with pytest.raises(UnknownTokenError, match=r"U\+0007"):
        tok.encode("a\a")


def test_a_vocabulary_is_distinct_single_characters() -> None:
    for bad in (["a", "a"], ["ab", "c"], [""]):
        with pytest.raises(ValueError, match="distinct single characters"):
            CharTokenizer(bad)


def test_records_name_the_tokenizer_word_or_char() -> None:
    assert {"word": WordTokenizer, "char": CharTokenizer} == TOKENIZERS
