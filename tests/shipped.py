"""The shipped models, typed by family, for tests that need one family's API."""

from __future__ import annotations

from models import registry
from models.families.mlp import LoadedMLP
from models.families.textnet import LoadedTextNet


def mlp(model_id: str) -> LoadedMLP:
    model = registry.load(model_id)
    assert isinstance(model, LoadedMLP), f"{model_id} is not an mlp"
    return model


def textnet(model_id: str) -> LoadedTextNet:
    model = registry.load(model_id)
    assert isinstance(model, LoadedTextNet), f"{model_id} is not a textnet"
    return model
