"""Presenters: one per registered family, found by the family's name, each in its own module that imports no
other family's; a family is presented once."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import app.presenters
from app.presenters import PRESENTERS, presenter_for, register
from models.families import FAMILIES
from models.registry import Registry

PACKAGE = "app.presenters"
FOLDER = Path(app.presenters.__file__).parent
SHARED = {
    f"{PACKAGE}.{name}" for name in ("base", "text", "labels", "stages", "whatif")
}  # what every presenter may build on


def imported(source: str) -> set[str]:
    """The modules a module of app/presenters imports, absolute; `from app.presenters import x` imports the module x."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative to the package of app/presenters
                parent = PACKAGE.rsplit(".", node.level - 1)[0]
                base = f"{parent}.{base}" if base else parent
            found |= {f"{base}.{alias.name}" for alias in node.names} if base == PACKAGE else {base}
    return found


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_registered_family_has_a_presenter_of_its_class(family: str) -> None:
    presenter = PRESENTERS[family]
    assert presenter.family == family
    assert presenter.loaded is FAMILIES[family]


@pytest.mark.parametrize("family", list(FAMILIES))
def test_a_familys_presenter_module_imports_no_other_presenter(family: str) -> None:
    path = FOLDER / f"{family}.py"
    presenters = {name for name in imported(path.read_text()) if name.startswith(f"{PACKAGE}.")}
    others = {f"{PACKAGE}.{other}" for other in FAMILIES if other != family}
    assert presenters - SHARED - others == set(), (
        "only base, text, labels, stages and whatif of app/presenters are shared"
    )
    assert presenters & others == set(), f"{path.name} imports another family's presenter"


def test_the_import_check_sees_every_way_of_importing_a_module() -> None:
    source = "import app.presenters.gpt\nfrom app.presenters import mlp\nfrom .seq2seq import X\nfrom . import text\n"
    assert {f"{PACKAGE}.{name}" for name in ("gpt", "mlp", "seq2seq", "text")} <= imported(source)


def test_every_served_model_is_presented_by_its_familys_presenter() -> None:
    for model in Registry().load_all():
        presenter = presenter_for(model)
        assert presenter is PRESENTERS[model.record["family"]], model.id
        assert isinstance(model, presenter.loaded)


def test_a_second_presenter_for_a_registered_family_is_an_error() -> None:
    first = PRESENTERS["mlp"]
    with pytest.raises(ValueError, match="the family 'mlp' already has a presenter"):
        register(type(first)())
    assert PRESENTERS["mlp"] is first
    assert register(first) is first  # registering the same one again changes nothing
