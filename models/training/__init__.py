"""Training: one loop (loop.py), one typed record (record.py), a recipe per family trained here (<family>.py, each
with its RECIPES). `recipes()` finds them by family name, so a new family's recipe is a new file, not a new entry."""

from __future__ import annotations

import importlib
import importlib.util

from models.families import FAMILIES
from models.training.recipe import Recipe


def recipes() -> dict[str, Recipe]:
    """Every shipped model's recipe, by model id, in family order."""
    found: dict[str, Recipe] = {}
    for family in FAMILIES:
        name = f"{__name__}.{family}"
        if importlib.util.find_spec(name) is not None:  # pretrained families have no recipe
            found.update(importlib.import_module(name).RECIPES)
    return found
