"""Presenters: each family's face in the API and on its page (app/presenters/<family>.py, whose PRESENTER is the
family's one instance). The table is filled from the families models/ registers, by name, so a family's presenter
is a file, not an entry in a list; a family defined elsewhere (a test's) registers its own."""

from __future__ import annotations

import importlib
from typing import Any

from app.presenters.base import Presenter
from models.families import FAMILIES, LoadedModel

PRESENTERS: dict[str, Presenter[Any]] = {}


def register(presenter: Presenter[Any]) -> Presenter[Any]:
    """Present the family `presenter.family`; registering a second presenter for a family is an error."""
    known = PRESENTERS.get(presenter.family)
    if known is not None and known is not presenter:
        raise ValueError(f"the family '{presenter.family}' already has a presenter, {type(known).__qualname__}")
    PRESENTERS[presenter.family] = presenter
    return presenter


def unregister(family: str) -> None:
    PRESENTERS.pop(family, None)


SHARED = {
    "base",
    "labels",
    "stages",
    "text",
    "whatif",
}  # modules here that every family shares: no family may take their names


def discover() -> None:
    """A presenter for every registered family: app/presenters/<family>.py, unless one was registered already.
    create_app() calls it, so a family registered after this package was imported is found too."""
    for family in FAMILIES:
        if family in PRESENTERS:
            continue
        if family in SHARED:
            raise ValueError(f"the family name '{family}' is taken by app/presenters/{family}.py; choose another")
        try:
            module = importlib.import_module(f"{__name__}.{family}")
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{family}":
                raise
            raise LookupError(
                f"the family '{family}' has no presenter: add app/presenters/{family}.py with a PRESENTER, or register "
                "one (app.presenters.register)"
            ) from None
        register(module.PRESENTER)


def presenter_for(model: LoadedModel[Any]) -> Presenter[Any]:
    """The presenter of the model's family (discover() has found every registered family's)."""
    presenter = PRESENTERS[model.family]
    if not isinstance(model, presenter.loaded):
        raise TypeError(f"{model.id} is a {type(model).__qualname__}; {presenter.family} presents {presenter.loaded}")
    return presenter


discover()

__all__ = ["PRESENTERS", "Presenter", "discover", "presenter_for", "register", "unregister"]
