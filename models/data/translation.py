"""A small English → French parallel corpus, generated from a lexicon and a grammar.

What it teaches a translator: most French adjectives follow the noun ("the black cat" → "le chat noir", so the
alignment crosses) but "petit" precedes it; determiners and adjectives agree with the noun's gender and number
(le/la/les, un/une, noir/noire/noirs/noires); verbs agree with the subject (dort/dorment).
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

NOUNS = {  # English: (French, gender, French plural)
    "cat": ("chat", "m", "chats"),
    "dog": ("chien", "m", "chiens"),
    "bird": ("oiseau", "m", "oiseaux"),
    "book": ("livre", "m", "livres"),
    "house": ("maison", "f", "maisons"),
    "car": ("voiture", "f", "voitures"),
    "table": ("table", "f", "tables"),
    "flower": ("fleur", "f", "fleurs"),
}
ADJECTIVES = {  # English: (m, f, m plural, f plural), after the noun unless listed in BEFORE
    "black": ("noir", "noire", "noirs", "noires"),
    "green": ("vert", "verte", "verts", "vertes"),
    "white": ("blanc", "blanche", "blancs", "blanches"),
    "red": ("rouge", "rouge", "rouges", "rouges"),
    "small": ("petit", "petite", "petits", "petites"),
}
BEFORE = {"small"}
VERBS = {  # English (singular, plural): French (singular, plural)
    ("sleeps", "sleep"): ("dort", "dorment"),
    ("falls", "fall"): ("tombe", "tombent"),
}
SEES = (("sees", "see"), ("voit", "voient"))
DETERMINERS = {  # English determiner, plural?: French by gender
    ("the", False): {"m": "le", "f": "la"},
    ("the", True): {"m": "les", "f": "les"},
    ("a", False): {"m": "un", "f": "une"},
}
BOS, EOS = "<s>", "</s>"


@dataclass(frozen=True)
class Pair:
    english: tuple[str, ...]
    french: tuple[str, ...]


def noun_phrases() -> list[tuple[tuple[str, ...], tuple[str, ...], bool]]:
    """(English words, French words, plural?) for every determiner, adjective (or none) and noun."""
    out = []
    for (det, plural), french_det in DETERMINERS.items():
        for noun, (fr_noun, gender, fr_plural) in NOUNS.items():
            for adjective in [None, *ADJECTIVES]:
                en = (det, *([adjective] if adjective else []), noun + ("s" if plural else ""))
                fr_n = fr_plural if plural else fr_noun
                fr: tuple[str, ...] = (french_det[gender], fr_n)
                if adjective:
                    form = ADJECTIVES[adjective][(2 if plural else 0) + (1 if gender == "f" else 0)]
                    fr = (fr[0], form, fr_n) if adjective in BEFORE else (*fr, form)
                out.append((en, fr, plural))
    return out


def pairs() -> list[Pair]:
    phrases = noun_phrases()
    out = []
    for (en, fr, plural), ((en_s, en_p), (fr_s, fr_p)) in itertools.product(phrases, VERBS.items()):
        out.append(Pair((*en, en_p if plural else en_s, "."), (*fr, fr_p if plural else fr_s, ".")))
    rng = random.Random(0)  # a fixed sample of the many subject-object sentences
    for (en, fr, plural), (en_o, fr_o, _) in rng.sample(list(itertools.product(phrases, phrases)), 2400):
        verb_en, verb_fr = SEES[0][1 if plural else 0], SEES[1][1 if plural else 0]
        out.append(Pair((*en, verb_en, *en_o, "."), (*fr, verb_fr, *fr_o, ".")))
    return out


def vocabularies() -> tuple[list[str], list[str]]:
    """(English words, French words with the start and end tokens first), in a fixed order."""
    everything = pairs()
    english = sorted({w for p in everything for w in p.english})
    french = [BOS, EOS, *sorted({w for p in everything for w in p.french})]
    return english, french


def corpus(seed: int, held_out: float = 0.1) -> tuple[list[Pair], list[Pair]]:
    everything = pairs()
    random.Random(seed).shuffle(everything)
    cut = int(len(everything) * held_out)
    return everything[cut:], everything[:cut]
