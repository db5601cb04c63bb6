"""A small English grammar whose sentences can only be predicted with attention and word order.

Four kinds of sentence, each with the positions where the next word is fully determined by something earlier
(those positions are scored separately on held-out sentences):
- order: "the dog chased the cat . who chased ? the dog ." — who did what to whom;
- agreement: "the dogs that saw the cat are hungry ." — the verb agrees with the head noun across a relative
  clause whose noun may have the other number;
- pronoun: "the king met the queen and he smiled ." — the pronoun refers back to the subject;
- sense: "the boy took the boat , reached the bank and saw the water ." — what "bank" means depends on a word
  eight tokens back ("money" → "clerk"); nothing else in the sentence tells the two apart.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

ANIMALS = {"dog": "dogs", "cat": "cats", "fox": "foxes", "bird": "birds", "mouse": "mice"}
ACTIONS = ["chased", "saw", "bit", "followed"]
ADJECTIVES = ["hungry", "happy", "tired", "small"]
PEOPLE = {"king": "he", "queen": "she", "boy": "he", "girl": "she", "man": "he", "woman": "she"}
MEETINGS = ["met", "saw", "followed"]
REACTIONS = ["smiled", "left", "laughed"]
SENSES = {"boat": "water", "money": "clerk"}
PUNCTUATION = [".", "?", ","]


@dataclass(frozen=True)
class Sentence:
    tokens: tuple[str, ...]
    scored: tuple[tuple[int, str], ...]  # (position of a token fully determined by what came before, kind)

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


def vocabulary() -> list[str]:
    words = ["the", "that", "who", "was", "is", "are", "and", "took", "reached", "bank", "bites"]
    words += [*ANIMALS, *ANIMALS.values(), *ACTIONS, *ADJECTIVES, *PEOPLE, "he", "she"]
    words += [*MEETINGS, *REACTIONS, *SENSES, *SENSES.values(), *PUNCTUATION]
    return list(dict.fromkeys(words))  # keeps the first of each, in order


def order_sentences() -> list[Sentence]:
    out = []
    for a in ANIMALS:
        for b in ANIMALS:
            if a == b:
                continue
            for verb in ACTIONS:
                stem = ("the", a, verb, "the", b, ".", "who")
                out.append(Sentence((*stem, verb, "?", "the", a, "."), ((10, "order"),)))
                out.append(Sentence((*stem, "was", verb, "?", "the", b, "."), ((11, "order"),)))
    return out


def agreement_sentences() -> list[Sentence]:
    out = []
    for head, heads in ANIMALS.items():
        for other, others in ANIMALS.items():
            if head == other:
                continue
            for verb in ACTIONS:
                for adjective in ADJECTIVES:
                    for subject, be in ((head, "is"), (heads, "are")):
                        for obj in (other, others):
                            tokens = ("the", subject, "that", verb, "the", obj, be, adjective, ".")
                            out.append(Sentence(tokens, ((6, "agreement"),)))
    return out


def pronoun_sentences() -> list[Sentence]:
    out = []
    for p, pronoun in PEOPLE.items():
        for q, other in PEOPLE.items():
            if pronoun == other:  # the other person has the other pronoun, so the reference is unambiguous
                continue
            for verb in MEETINGS:
                for reaction in REACTIONS:
                    out.append(Sentence(("the", p, verb, "the", q, "and", pronoun, reaction, "."), ((6, "pronoun"),)))
    return out


def sense_sentences() -> list[Sentence]:
    out = []
    for context, seen in SENSES.items():
        for who in [*PEOPLE, *ANIMALS]:
            for verb in ("reached", "left"):
                tokens = ("the", who, "took", "the", context, ",", verb, "the", "bank", "and", "saw", "the", seen, ".")
                out.append(Sentence(tokens, ((12, "sense"),)))
    return out


def bites_sentences() -> list[Sentence]:
    """'dog bites man' / 'man bites dog': the same words, another meaning; nothing here is fully determined."""
    nouns = [*ANIMALS, *PEOPLE]
    return [Sentence((a, "bites", b, "."), ()) for a in nouns for b in nouns if a != b]


def corpus(seed: int, held_out: float = 0.2) -> tuple[list[Sentence], list[Sentence]]:
    """(train, held-out): every kind of sentence split at random, the same way for the same seed."""
    rng = random.Random(seed)
    train, test = [], []
    for make in (order_sentences, agreement_sentences, pronoun_sentences, sense_sentences, bites_sentences):
        sentences = make()
        rng.shuffle(sentences)
        cut = max(1, int(len(sentences) * held_out))
        test += sentences[:cut]
        train += sentences[cut:]
    return train, test
