"""Training: one loop (loop.py), one typed record (record.py), a recipe per family trained here (<family>.py, each
with its RECIPES). `recipes()` finds them by family name, so a new family's recipe is a new file, not a new entry."""

from __future__ import annotations

import importlib
import importlib.util

from models.families import FAMILIES
from models.training.recipe import Recipe

SHARED = {"loop", "progress", "recipe", "record"}  # the modules every recipe shares: no family takes their names


def recipes() -> dict[str, Recipe]:
    """Every shipped model's recipe, by model id, in family order."""
    found: dict[str, Recipe] = {}
    for family in FAMILIES:
        name = f"{__name__}.{family}"
        if family in SHARED or importlib.util.find_spec(name) is None:  # pretrained families have no recipe
            continue
        for model_id, recipe in importlib.import_module(name).RECIPES.items():
            if model_id in found:
                raise ValueError(f"two recipes make '{model_id}': {found[model_id].family} and {recipe.family}")
            found[model_id] = recipe
    return found
