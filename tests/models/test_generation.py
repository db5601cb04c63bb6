"""Generation stops at the end token, the length bound, or a repeated transition; seeds reproduce it."""

from __future__ import annotations

import pytest
import torch

from models.generation import generate

# A fixed next-token table over 4 tokens: 0 → 1, 1 → 2, 2 → 2 (a self-loop), 3 → 3 is the end token.
TABLE = {0: 1, 1: 2, 2: 2, 3: 3}


def table_logits(context: list[int]) -> torch.Tensor:
    logits = torch.full((4,), -5.0)
    logits[TABLE[context[-1]]] = 5.0
    return logits


def last(context: list[int]) -> tuple[int, ...]:
    return tuple(context[-1:])  # what a model that reads one token sees


def test_greedy_decoding_stops_when_a_transition_repeats() -> None:
    g = generate(table_logits, [0], eos_id=3, max_new_tokens=10, seed=0, temperature=0.0, reads=last)
    assert g.ids == [1, 2, 2, 2]  # 0→1, 1→2, 2→2, and 2→2 again
    assert (g.stop_reason, g.loop) == ("loop", (2, 2))


def test_generation_stops_at_the_end_token() -> None:
    def to_end(context: list[int]) -> torch.Tensor:
        return torch.tensor([0.0, 0.0, 0.0, 9.0])

    g = generate(to_end, [0], eos_id=3, max_new_tokens=10, seed=0, temperature=0.0)
    assert (g.ids, g.stop_reason, g.loop) == ([3], "eos", None)


def test_generation_stops_at_max_new_tokens() -> None:
    def counting(context: list[int]) -> torch.Tensor:
        return torch.nn.functional.one_hot(torch.tensor(len(context) % 4), 4).float() * 9

    g = generate(counting, [0], eos_id=None, max_new_tokens=3, seed=0, temperature=0.0)
    assert (len(g.ids), g.stop_reason) == (3, "max_new_tokens")


def test_each_step_reports_the_probability_it_was_drawn_with_and_its_top_candidates() -> None:
    g = generate(table_logits, [0], eos_id=3, max_new_tokens=1, seed=0, temperature=1.0)
    step = g.steps[0]
    expected = torch.softmax(table_logits([0]).double(), dim=-1)
    assert step.prob == pytest.approx(float(expected[step.id]))
    assert step.top[0][0] == 1
    assert step.top[0][1] == pytest.approx(float(expected[1]))
    assert [p for _, p in step.top] == sorted((p for _, p in step.top), reverse=True)


def test_the_same_seed_gives_the_same_sample_and_seeds_differ() -> None:
    def flat(context: list[int]) -> torch.Tensor:
        return torch.zeros(4)

    runs = [generate(flat, [0], eos_id=None, max_new_tokens=12, seed=s, temperature=1.0).ids for s in (1, 1, 2)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_greedy_steps_list_no_zero_probability_candidates() -> None:
    g = generate(table_logits, [0], eos_id=3, max_new_tokens=2, seed=0, temperature=0.0, reads=last)
    assert [step.top for step in g.steps] == [[(1, 1.0)], [(2, 1.0)]]


def test_a_model_that_reads_its_whole_context_is_not_stopped_by_a_repeated_word_pair() -> None:
    # "le chat voit le chat .": le → chat twice is no loop for a model that sees everything before it
    sentence = [0, 1, 2, 0, 1, 3]

    def scripted(context: list[int]) -> torch.Tensor:
        return torch.nn.functional.one_hot(torch.tensor(sentence[len(context)]), 4).float() * 9

    g = generate(scripted, [0], eos_id=3, max_new_tokens=10, seed=0, temperature=0.0)
    assert (g.ids, g.stop_reason) == (sentence[1:], "eos")
