"""Settings come from LAYERWALK_* variables, and each one is documented in the README."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import Settings
from app.main import create_app
from tests.app.conftest import Client

README = (Path(__file__).parents[2] / "README.md").read_text()


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_has_a_description_and_a_readme_row(name: str) -> None:
    assert Settings.model_fields[name].description
    assert f"`LAYERWALK_{name.upper()}`" in README


def test_an_environment_variable_changes_the_setting_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAYERWALK_MAX_BODY_BYTES", "300")
    client = Client(create_app())
    response = client.post("/api/models/sqrt-mlp-2x2/forward", content=b'{"input": 1}'.ljust(400), headers={})
    assert response.status_code == 413
    assert "limit is 300 bytes" in response.json()["detail"]


def test_the_weights_folder_decides_which_models_are_served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAYERWALK_WEIGHTS_DIR", str(tmp_path))
    assert Client(create_app()).get("/healthz").json() == {"status": "ok", "models": 0}
