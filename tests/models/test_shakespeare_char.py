"""The shipped shakespeare-char: its record says how it was trained and how well (held-out loss below the unigram
baseline, a validation curve, samples that its weights write again), and its 128-character pass has every value
the walk shows."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
import torch

from app.presenters.gpt import walk
from app.presenters.stages import hooks_of
from models.data import shakespeare
from models.families.gpt import LoadedGPT
from models.registry import WEIGHTS_DIR, Registry
from models.tokenizers import CharTokenizer
from models.training.gpt import SAMPLE_CHARS, SAMPLE_PROMPTS, sample
from models.training.loop import VALIDATION_POINTS


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """One thread, as training drew the samples: a second thread makes each one-character pass far slower on a
    busy machine (0.4 s instead of 7 ms on ours)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model() -> LoadedGPT:
    loaded = Registry().load("shakespeare-char")
    assert isinstance(loaded, LoadedGPT)
    return loaded


@pytest.fixture(scope="module")
def record() -> dict[str, Any]:
    found: dict[str, Any] = json.loads((WEIGHTS_DIR / "shakespeare-char.json").read_text())
    return found


def test_it_reads_characters_of_the_plays_with_no_end_token(model: LoadedGPT, record: dict[str, Any]) -> None:
    assert record["tokenizer"] == "char"
    assert isinstance(model.tokenizer, CharTokenizer)
    assert model.tokenizer.vocab == shakespeare.corpus().vocabulary()
    assert model.eos is None
    assert model.eos_id is None
    assert 500_000 <= model.n_params <= 2_000_000
    assert model.module.config.n_ctx >= 128


def test_held_out_loss_is_finite_and_beats_the_unigram_baseline(record: dict[str, Any]) -> None:
    metrics = record["metrics"]
    baseline = shakespeare.corpus().unigram_loss()
    assert metrics["unigram_loss"] == pytest.approx(baseline)
    assert math.isfinite(metrics["validation_loss"])
    assert metrics["validation_loss"] < baseline - 1.0  # far better than counting letters (3.3 nats)
    assert math.isfinite(metrics["train_loss"])


def test_the_validation_curve_falls_over_training(record: dict[str, Any]) -> None:
    curve = record["validation_curve"]
    steps = [step for step, _ in curve]
    assert len(curve) == VALIDATION_POINTS
    assert steps[-1] == record["epochs"]
    assert curve[-1][1] < curve[0][1]
    assert list(record).index("validation_curve") == list(record).index("loss_curve") + 1


def test_the_samples_are_written_again_by_the_shipped_weights(model: LoadedGPT, record: dict[str, Any]) -> None:
    samples = record["samples"]
    assert [s["prompt"] for s in samples] == list(SAMPLE_PROMPTS)
    assert [s["seed"] for s in samples] == [record["seed"] + i for i in range(len(samples))]
    assert all(len(s["text"]) == SAMPLE_CHARS for s in samples)
    tok = model.tokenizer
    assert isinstance(tok, CharTokenizer)
    for shipped in (samples[0], samples[-1]):  # their first 60 characters: the same draws, a fifth of the time
        again = sample(model.module, tok, shipped["prompt"], shipped["seed"], chars=60)
        assert again.text == shipped["text"][:60]


def test_a_128_character_pass_has_every_value_the_walk_shows(model: LoadedGPT) -> None:
    text = shakespeare.corpus().validation[1000:1128]
    ids = model.tokenizer.encode(text)
    assert len(ids) == 128
    logits, cache = model.run_with_cache(ids)
    assert logits.shape == (128, len(model.tokenizer.vocab))
    assert set(cache) == set(model.hook_names())
    shown = hooks_of(walk(model))
    assert shown
    assert shown <= set(cache)
    for name, value in cache.items():
        assert 128 in value.shape, name  # every value is per position (per query or key position for attention)
        assert not torch.isnan(value).any(), name  # -inf only where the causal mask hides a later character
    torch.testing.assert_close(cache["hook_logits"], logits)
