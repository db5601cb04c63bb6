"""The registry finds complete weight pairs, loads each once, and names the known ids for an unknown one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from models.registry import WEIGHTS_DIR, Registry
from tests import shipped


def test_an_unknown_id_is_a_key_error_naming_the_known_ids() -> None:
    with pytest.raises(KeyError, match=r"Unknown model 'nope'\. Known: .*sqrt-mlp-2x2"):
        Registry().load("nope")


def test_each_model_is_loaded_once() -> None:
    reg = Registry()
    assert reg.load("sqrt-mlp-2x2") is reg.load("sqrt-mlp-2x2")


def test_only_complete_pairs_of_record_and_weights_are_served(tmp_path: Path) -> None:
    shutil.copy(WEIGHTS_DIR / "sqrt-mlp-2x2.json", tmp_path)
    shutil.copy(WEIGHTS_DIR / "sqrt-mlp-2x2.safetensors", tmp_path)
    shutil.copy(WEIGHTS_DIR / "sqrt-mlp-16x16.json", tmp_path)  # no weights beside it
    assert Registry(tmp_path).ids() == ["sqrt-mlp-2x2"]


def test_an_id_is_never_turned_into_a_path() -> None:
    with pytest.raises(KeyError, match="Unknown model"):
        Registry().load("../weights/sqrt-mlp-2x2")


def test_a_loaded_mlp_reports_x_outside_its_domain_as_extrapolating() -> None:
    model = shipped.mlp("sqrt-mlp-2x2")
    assert model.domain == (0.0, 10.0)
    assert [model.extrapolating(x) for x in (-0.1, 0.0, 10.0, 10.1)] == [True, False, False, True]
    assert model.target(-1.0) is None
    assert model.target(9.0) == 3.0
