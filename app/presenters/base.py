"""What every presenter shares: the Presenter a family implements, the steps of a forward pass with their labels,
rounding, and the assembly of a detail.

A presenter turns a family's loaded model and its captured pass into the API's answers: it labels each hook, parses
the family's input, and builds the response. It computes no number of its own: those come from models/.
"""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Generic, Literal, TypeVar
from weakref import WeakKeyDictionary

import torch
from pydantic import BaseModel, TypeAdapter
from torch import nn

from app import schemas
from app.errors import InputError, shortened
from app.passes import PassCache
from app.presenters.stages import Stage, hooks_of
from app.templating import TEMPLATES
from models import explain as unfold
from models.families import LoadedModel
from models.registry import no_trajectory, saved_checkpoints
from models.sampling import vocab_columns

L = TypeVar("L", bound=LoadedModel[Any])
DECIMALS = 4  # transformer activations go out rounded to this many places (docs/api.md)
STEPS = TypeAdapter(list[schemas.Step])


@dataclass(frozen=True)
class Label:
    """How one hook is shown: its title, its formula, the Linear whose W and b it used, the activation it applied."""

    title: str
    formula: str | None = None
    linear: nn.Linear | None = None
    activation: Literal["ReLU", "GELU"] | None = None
    table: nn.Embedding | None = None  # the embedding table it reads a row of


@dataclass(frozen=True)
class Layout:
    """What a step shows that is the same on every pass: its name and label, and the W and b it used."""

    name: str
    label: Label
    W: list[list[float]] | None
    b: list[float] | None
    parameters: dict[str, str] | None = None  # the names of W and b (or E), as POST /explain takes them


def layout(module: nn.Module, names: list[str], label: Callable[[str], Label]) -> list[Layout]:
    """One entry per hook, in forward order. Presenters keep it per model, so W and b are listed once."""
    named = {id(p): name for name, p in module.named_parameters()}
    entries = []
    for name in names:
        found = label(name)
        linear, table = found.linear, found.table
        W, b, parameters = None, None, None
        if linear is not None:
            W, b = linear.weight.tolist(), linear.bias.tolist()
            parameters = {"W": named[id(linear.weight)], "b": named[id(linear.bias)]}
        elif table is not None:
            parameters = {"E": named[id(table.weight)]}
        entries.append(Layout(name, found, W, b, parameters))
    return entries


def exact(value: torch.Tensor) -> list[object]:
    numbers: list[object] = value.tolist()
    return numbers


def rounded(value: torch.Tensor) -> list[object]:
    """To DECIMALS places, in float64 so each number prints short; -inf (masked) becomes null."""
    rounded = torch.round(value.double() * 10**DECIMALS) / 10**DECIMALS
    if not torch.isinf(rounded).any():
        return rounded.tolist()  # type: ignore[no-any-return]

    def nulls(x: object) -> object:
        if isinstance(x, list):
            return [nulls(v) for v in x]
        return None if x == float("-inf") else x

    return nulls(rounded.tolist())  # type: ignore[return-value]


Numbers = Callable[[torch.Tensor], list[object]]  # a value → JSON lists: exact, or rounded


def step_json(entry: Layout, value: torch.Tensor, numbers: Numbers = exact, columns: list[int] | None = None) -> bytes:
    """One step as JSON: the hook's value and its label; `columns`: the ids of the last axis `value` holds, when it is
    a vocabulary cut to its likeliest tokens."""
    step = schemas.Step(
        name=entry.name, shape=list(value.shape), data=numbers(value), title=entry.label.title,
        formula=entry.label.formula, activation=entry.label.activation, W=entry.W, b=entry.b,
        parameters=entry.parameters, columns=columns,
    )  # fmt: skip
    return step.model_dump_json().encode()


@dataclass(frozen=True)
class Selected:
    """The steps a forward request asked for: their names (in forward order), the model's layout, and how values
    become JSON."""

    names: list[str]
    layout: list[Layout]
    numbers: Numbers = exact
    heads: tuple[int, int] | None = None  # [start, stop) of a value's head axis
    positions: tuple[int, int] | None = None  # [start, stop) of its first position axis
    vocab: frozenset[str] = frozenset()  # the steps whose last axis is the vocabulary: a wide one is cut

    def json(
        self,
        passes: PassCache,
        key: Hashable,
        cache: Mapping[str, torch.Tensor],
        same: tuple[Hashable, frozenset[str]] | None = None,
    ) -> bytes:
        """The selected steps as a JSON list, each serialised once per pass and kept in the pass cache beside it
        (under its own key, so a stage asked for later serialises its own steps alone and reruns nothing).
        `same`: another pass's key and the hooks whose values are equal in both (a what-if's unmoved steps), whose
        JSON is that pass's."""
        entries = {entry.name: entry for entry in self.layout}
        cut = (self.heads, self.positions)

        def serialised(name: str) -> Callable[[], bytes]:
            def serialise() -> bytes:
                value, columns = cache[name], None
                if name in self.vocab and value.shape[-1] > schemas.WHOLE_VOCAB:  # [pos, vocab]
                    columns = vocab_columns(value, schemas.SHOWN_VOCAB)  # chosen from every position, sliced or not
                    value = value.index_select(-1, torch.tensor(columns))
                return step_json(entries[name], self.sliced(name, value), self.numbers, columns)

            return serialise

        def at(name: str) -> Hashable:
            return same[0] if same is not None and name in same[1] else key

        parts = [passes.part(("step", at(name), name, cut), serialised(name)) for name in self.names]
        return b"[" + b",".join(parts) + b"]"

    def sliced(self, name: str, value: torch.Tensor) -> torch.Tensor:
        """The rows asked for: `heads` of a [n_heads, pos, …] value, `positions` of its first position axis."""
        axes = [(0, self.heads, "heads"), (1, self.positions, "positions")] if value.dim() == 3 else []
        if value.dim() == 2:
            axes = [(0, self.positions, "positions")]
        for axis, cut, field in axes:
            if cut is None:
                continue
            size = value.shape[axis]
            if cut[0] >= size:
                problem = f"[{cut[0]}, {cut[1]}] starts past the {size} of {name}"
                raise InputError(field, problem, f"Send a start below {size} (the answer's `shapes` has each size).")
            value = value.narrow(axis, cut[0], min(cut[1], size) - cut[0])
        return value


def shapes(cache: Mapping[str, torch.Tensor]) -> dict[str, list[int]]:
    """Every captured hook's shape."""
    return {name: list(value.shape) for name, value in cache.items()}


def steps_from_cache(
    layout: list[Layout],
    cache: dict[str, torch.Tensor],
    numbers: Callable[[torch.Tensor], list[object]] = exact,
) -> list[schemas.Step]:
    """One step per hook, in forward order; `numbers` turns a value into JSON lists (exact by default)."""
    return [
        schemas.Step(
            name=entry.name,
            shape=list(cache[entry.name].shape),
            data=numbers(cache[entry.name]),
            title=entry.label.title,
            formula=entry.label.formula,
            activation=entry.label.activation,
            W=entry.W,
            b=entry.b,
            parameters=entry.parameters,
        )
        for entry in layout
    ]


class Presenter(ABC, Generic[L]):
    """A family in the API and on its page. One instance per family, registered in app/presenters/__init__.py."""

    family: ClassVar[str]
    loaded: ClassVar[type[LoadedModel[Any]]]  # the class of the models it presents
    detail_schema: ClassVar[type[schemas.ModelDetail]]
    forward_schema: ClassVar[type[schemas.ForwardResult]]
    generate_schema: ClassVar[type[schemas.GenerateResult] | None] = None  # None: the family does not generate
    compare_schema: ClassVar[type[BaseModel] | None] = None  # None: the family does not compare two inputs
    input_kind: ClassVar[Literal["number", "text"]] = "text"  # what a forward request's `input` is

    def __init__(self) -> None:
        self._layouts: WeakKeyDictionary[L, list[Layout]] = WeakKeyDictionary()
        self._details: WeakKeyDictionary[L, bytes] = WeakKeyDictionary()
        self._walks: WeakKeyDictionary[L, list[Stage]] = WeakKeyDictionary()

    @cached_property
    def template(self) -> str:
        """The page's Jinja template: the family's own (templates/<family>.html), else the page any family gets."""
        own = f"{self.family}.html"
        return own if (TEMPLATES / own).exists() else "model.html"

    @abstractmethod
    def label(self, model: L, name: str) -> Label:
        """How the hook `name` of `model` is shown."""

    def layout(self, model: L) -> list[Layout]:
        """Every hook's label, W and b, in forward order; made once per model."""
        found = self._layouts.get(model)
        if found is None:
            labelled = layout(model.module, model.hook_names(), lambda name: self.label(model, name))
            found = self._layouts[model] = labelled
        return found

    def walk(self, model: L) -> list[Stage]:
        """The page's walk through the model's stages (app/presenters/stages.py), made once per model; none for a
        family whose page has no walk of stages."""
        found = self._walks.get(model)
        if found is None:
            found = self._walks[model] = self.stages(model)
        return found

    def stages(self, model: L) -> list[Stage]:
        """The walk, made afresh (a transformer's family builds it from the model's hook names)."""
        return []

    def selected(
        self, model: L, request: schemas.ForwardRequest, numbers: Numbers = exact, layout: list[Layout] | None = None
    ) -> Selected:
        """The steps a forward request asks for: `hooks` by name, or "all", or by default what the first panel shows
        (the walk's first stage's inputs and results; every step of a family without a walk). An unknown name is an
        InputError naming the nearest."""
        names = self.layout(model) if layout is None else layout
        every = [entry.name for entry in names]
        asked = request.hooks
        walk = self.walk(model)
        if asked is None:
            wanted = hooks_of(walk[:1]) if walk else set(every)
        elif asked == "all":
            wanted = set(every)
        else:
            wanted = set(asked)
            unknown = next((name for name in asked if name not in every), None)
            if unknown is not None:
                near = difflib.get_close_matches(unknown, every, n=1, cutoff=0.5)
                hint = f"Nearest: {near[0]}. " if near else ""
                problem = f"{shortened(unknown)} is not a hook of '{model.id}'"
                fix = f'{hint}Send names from the hook_names of GET /api/models/{model.id}, or "all".'
                raise InputError("hooks", problem, fix)
        vocab = frozenset(p.hook for stage in walk for p in (*stage.inputs, *stage.hooks) if p.columns == "vocab")
        chosen = [name for name in every if name in wanted]
        return Selected(chosen, names, numbers, request.heads, request.positions, vocab)

    def summary(self, model: L) -> schemas.ModelSummary:
        return schemas.ModelSummary(
            id=model.id, family=model.family, title=model.title, description=model.description, n_params=model.n_params,
            provenance=provenance(model.record),
        )  # fmt: skip

    def detail(self, model: L) -> schemas.ModelDetail:
        """Config, hook names and training record, and the family's own fields (`detail_fields`)."""
        common = {
            **self.summary(model).model_dump(),
            "input": self.input_kind,
            "config": model.record["config"],
            "hook_names": model.hook_names(),
            "attention_patterns": model.attention_patterns(),
            "training": model.record,
            "checkpoints": saved_checkpoints(model.record),
            "checkpoint": model.checkpoint,
            "no_trajectory": no_trajectory(model.record),
        }
        return self.detail_schema.model_validate({**common, **self.detail_fields(model)})

    def detail_json(self, model: L) -> bytes:
        """The detail as JSON: the same for the model's whole life, so it is made once."""
        found = self._details.get(model)
        if found is None:
            found = self._details[model] = self.detail(model).model_dump_json().encode()
        return found

    def detail_fields(self, model: L) -> dict[str, object]:
        return {}

    def page_context(self, model: L) -> dict[str, object]:
        """What the page's template needs beyond the model's summary."""
        return {}

    @abstractmethod
    def forward(self, model: L, request: schemas.ForwardRequest, passes: PassCache) -> bytes:
        """The forward answer as JSON: every step, and the family's output."""

    def explain(self, model: L, request: schemas.ExplainRequest, passes: PassCache) -> schemas.Unfolding:
        """One shown value unfolded into its computation (models/explain.py), from the request's pass: the kept one
        when /forward made it already. A changed pass is not unfolded: its values are not W·a + b of the model's W."""
        if request.interventions:
            raise InputError(
                "interventions", "an unfolding explains the unchanged pass, whose numbers the page shows",
                "Leave interventions out; the changed values are in /forward's what_if.",
            )  # fmt: skip
        captured, settings = self.captured(model, request, passes)
        try:
            found = model.unfoldings().explain(captured, request.hook, request.index, settings)
        except unfold.ExplainError as error:
            raise refusal(model, error) from None
        return schemas.Unfolding(
            **answering(model),
            hook=found.hook, index=list(found.index), value=found.value, formula=found.formula,
            terms=[schemas.UnfoldedTerm(label=t.label, value=t.value, factors=list(t.factors)) for t in found.terms],
            n_terms=found.n_terms, sum=found.sum, total=found.total, inputs=found.inputs, params=found.params,
            note=found.note,
        )  # fmt: skip

    def captured(
        self, model: L, request: schemas.ExplainRequest, passes: PassCache
    ) -> tuple[unfold.Captured, unfold.NextToken]:
        """The request's pass as the unfoldings read it, and its sampling settings. A family that unfolds nothing
        need not say: every value it has is refused."""
        problem = f"{shortened(request.hook)} has no unfolding: the {model.family} family unfolds none of its values"
        raise InputError("hook", problem, "Read the value's formula in the forward answer's steps instead.")

    # A family that answers these says so with the answer's schema (generate_schema, compare_schema) and overrides
    # them; the routes never call them for another family.
    def generate(self, model: L, request: schemas.GenerateRequest) -> schemas.GenerateResult:
        raise NotImplementedError(f"{self.family} has a generate_schema but no generate()")

    def compare(self, model: L, request: schemas.CompareRequest) -> BaseModel:
        raise NotImplementedError(f"{self.family} has a compare_schema but no compare()")


def answering(model: LoadedModel[Any]) -> dict[str, Any]:
    """What every answer says of the model that gave it: its id, and the checkpoint whose weights answered (None:
    the final weights)."""
    return {"model": model.id, "checkpoint": model.checkpoint}


PROVENANCE = {  # a record's "source" → where its weights come from
    "generated": "trained here on generated data",
    "text": "trained here on real text",
    "pretrained": "pretrained elsewhere",
    "folder": "loaded from your folder",
}


def provenance(record: dict[str, Any]) -> schemas.Provenance:
    """Where a model's weights come from, from its record: "source" (generated data when it names none) and, for
    weights made elsewhere, "provenance" (the original's name, address and license, and how it reached us)."""
    kind = str(record.get("source", "generated"))
    origin = record.get("provenance") or {}
    return schemas.Provenance(
        kind=kind, summary=PROVENANCE.get(kind, kind), source=origin.get("source"), url=origin.get("url"),
        license=origin.get("license"), via=origin.get("via"),
    )  # fmt: skip


def refusal(model: LoadedModel[Any], error: unfold.ExplainError) -> InputError:
    """Why a value does not unfold, and what to send instead."""
    detail = f"GET /api/models/{model.id}"
    if isinstance(error, unfold.UnknownHookError):
        near = difflib.get_close_matches(error.hook, error.known, n=1, cutoff=0.5)
        hint = f"Nearest: {near[0]}. " if near else ""
        outputs = [n for n in unfold.NEXT_TOKEN if n in error.known]
        extra = f", or {' or '.join(outputs)} (the next token)" if outputs else ""
        problem = f"{shortened(error.hook)} is not a value of '{model.id}'"
        steps = "a name from a forward step's `parameters`"
        return InputError("hook", problem, f"{hint}Send one of the hook_names of {detail}, {steps}{extra}.")
    if isinstance(error, unfold.BadIndexError):
        shape = list(error.shape)
        problem = f"{shortened(error.index)} does not index {error.hook}, whose shape is {shape}"
        most = [n - 1 for n in shape]
        return InputError("index", problem, f"Send {len(shape)} numbers, each from 0 up to {most}.")
    assert isinstance(error, unfold.NoUnfoldingError)
    return InputError("hook", f"{error.hook} has no unfolding: {error.reason}", "Unfold another value.")
