"""What if? A forward request's `interventions` in the API: checked against the model and its unchanged pass, made
as edits on its hook points (models/interventions.py) in a second pass kept under its own key, and answered beside
the unchanged pass as `what_if`: the changed steps asked for, the changed output, and every hook whose value moved.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from app import schemas
from app.errors import InputError
from app.passes import KeptPass, PassCache, spliced
from models.hooks import Edit, editing
from models.interventions import Change, ChangeError, Feeds, plan


@dataclass(frozen=True)
class Changed:
    """A request's changed pass: its key in the pass cache, how to make it, and the edits it is made with."""

    key: Hashable
    capture: Callable[[], KeptPass]
    edits: Mapping[str, list[Edit]]


def key_of(request: schemas.Interventions) -> tuple[str, ...]:
    """The changes as part of a pass cache key: each as canonical JSON, in order (order can matter: two set_score on
    one entry)."""
    return tuple(json.dumps(change.model_dump(), sort_keys=True) for change in request.interventions)


def changes(request: schemas.Interventions) -> list[Change]:
    fields = ("layer", "head", "mode", "query", "key", "value", "name", "hook", "position", "stack")
    return [
        Change(c.op, **{f: getattr(c, f) for f in fields}, index=tuple(c.index))  # type: ignore[arg-type]
        for c in request.interventions
    ]


def source_of(request: schemas.Interventions) -> float | str | None:
    """The second input that patch ops read (one per request: every patch reads the same), or None."""
    sources = {c.source for c in request.interventions if c.op == "patch"}
    if len(sources) > 1:
        raise InputError("interventions", "patches name different second inputs", "Patch from one source per request.")
    return next(iter(sources), None)


def edits(
    module: nn.Module,
    request: schemas.Interventions,
    baseline: Mapping[str, torch.Tensor],
    *,
    params: Mapping[str, Feeds] | None = None,
    model_input: torch.Tensor | None = None,
    source: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, list[Edit]]:
    """The request's changes as edits of `module`'s hooks, checked against the unchanged pass's values; a change that
    does not fit is an InputError naming its field."""
    shapes = {name: list(value.shape) for name, value in baseline.items()}
    try:
        return plan(module, changes(request), shapes, params=params, model_input=model_input, source=source)
    except ChangeError as error:
        raise InputError(error.field, error.problem, error.fix) from None


def changed(module: nn.Module, edits: Mapping[str, list[Edit]], capture: Callable[[], KeptPass]) -> KeptPass:
    """`capture`'s pass, with `edits` made to it."""
    with editing(module, edits):
        return capture()


def moved(before: Mapping[str, torch.Tensor], after: Mapping[str, torch.Tensor]) -> list[schemas.Moved]:
    """Every hook whose value differs between the two passes, in forward order."""
    found = []
    for name, a in before.items():
        b = after[name]
        if a.shape != b.shape:
            found.append(schemas.Moved(hook=name, max_abs=None))
            continue
        if torch.equal(a, b):  # the common case, and the cheap one: most hooks come before the change
            continue
        gap = (a - b).abs_()
        largest = float(gap.max())
        if math.isnan(largest):  # -inf − -inf: masked in both, unmoved (only scores hold -inf)
            largest = float(gap.nan_to_num_(nan=0.0).max())
        if largest > 0:
            found.append(schemas.Moved(hook=name, max_abs=largest if math.isfinite(largest) else None))
    return found


def unchanged(request: schemas.Interventions, what: str) -> None:
    """For an endpoint that reads the unchanged pass only: interventions are a 422, not silently dropped."""
    if request.interventions:
        raise InputError("interventions", f"{what} reads the unchanged pass", "Leave interventions out.")


def source_field(request: schemas.Interventions) -> str:
    """The request field that holds the second input, for its errors."""
    at = next(i for i, c in enumerate(request.interventions) if c.op == "patch")
    return f"interventions.{at}.source"


Source = Callable[[float | str, str], tuple[Hashable, Callable[[], KeptPass]]]  # second input, field → its pass


def changed_pass(
    module: nn.Module,
    request: schemas.Interventions,
    passes: PassCache,
    key: Hashable,
    capture: Callable[[], KeptPass],
    source: Source | None = None,
    *,
    params: Mapping[str, Feeds] | None = None,
    model_input: torch.Tensor | None = None,
    changed_capture: Callable[[], KeptPass] | None = None,
) -> Changed | None:
    """A request's changed pass (None without interventions), checked against its unchanged pass, kept under `key`
    (made by `capture`), and for a patch against the second input's (`source` reads it: the key and capture of its
    pass). `changed_capture` makes the changed pass when it needs less than the unchanged one (no logit lens)."""
    if not request.interventions:
        return None
    theirs = None
    if (other := source_of(request)) is not None:
        if source is None:
            raise InputError(source_field(request), "this model reads no second input", "Choose another change.")
        their_key, their_capture = source(other, source_field(request))
        theirs = passes.get(their_key, their_capture)
    before = passes.get(key, capture)
    planned = edits(
        module, request, before.cache, params=params, model_input=model_input,
        source=None if theirs is None else theirs.cache,
    )  # fmt: skip
    run = changed_capture or capture
    return Changed((key, "what if", *key_of(request)), lambda: changed(module, planned, run), planned)


def part(
    passes: PassCache,
    changed: Changed,
    before: KeptPass,
    request: schemas.Interventions,
    steps: Callable[[KeptPass, frozenset[str]], bytes],
    output: Callable[[KeptPass], bytes],
) -> bytes:
    """The answer's `what_if` as JSON: the changed pass's `steps` and `output` (each read from the kept changed pass),
    and what moved from `before`. `steps` is told which hooks did not move: their JSON is the unchanged pass's."""
    after = passes.get(changed.key, changed.capture)
    found = moved(before.cache, after.cache)
    what_if = schemas.WhatIf(
        interventions=request.interventions, steps=[], output=None, moved=found,
        first_moved=found[0].hook if found else None,
    )  # fmt: skip
    unmoved = frozenset(before.cache) - {m.hook for m in found}
    return spliced(what_if, {"steps": steps(after, unmoved), "output": output(after)})
