"""Every registered family is whole: its loaded class in models/families, its presenter, its page (template and
module), its walk's captions, its recipe when models of it ship, and its tests. A new family is these files; the
only list it joins is models/families/__init__.py (tests/app/test_a_new_family.py serves one with no list at all)."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest

from app.presenters import PRESENTERS
from app.templating import modules
from models.families import FAMILIES
from models.registry import Registry
from models.training import recipes

ROOT = Path(__file__).parents[1]
NAMES = sorted(FAMILIES)


@pytest.mark.parametrize("family", NAMES)
def test_the_family_is_one_class_in_its_own_module(family: str) -> None:
    loaded = FAMILIES[family]
    assert Path(inspect.getfile(loaded)) == ROOT / "models" / "families" / f"{family}.py"
    assert loaded.family == family
    assert "load" in vars(loaded), "the family says how it is loaded from a record and weights"


@pytest.mark.parametrize("family", NAMES)
def test_the_family_has_its_presenter(family: str) -> None:
    presenter = PRESENTERS[family]
    assert Path(inspect.getfile(type(presenter))) == ROOT / "app" / "presenters" / f"{family}.py"
    assert presenter.loaded is FAMILIES[family]


@pytest.mark.parametrize("family", NAMES)
def test_the_family_has_its_page_composed_from_shared_views(family: str) -> None:
    assert PRESENTERS[family].template == f"{family}.html"
    template = (ROOT / "templates" / f"{family}.html").read_text()
    assert f'page_scripts("pages/{family}.js")' in template
    imported = modules(f"pages/{family}.js")
    assert any(m.startswith("core/") for m in imported)
    assert any(m.startswith("views/") for m in imported)
    assert not any(m.startswith("pages/") for m in imported[1:]), "a page imports views, never another page"


@pytest.mark.parametrize("family", NAMES)
def test_the_familys_walk_has_captions_for_every_stage(family: str) -> None:
    stages = json.loads((ROOT / "static" / "captions" / f"{family}.json").read_text())["stages"]
    assert stages
    captions = stages.values() if isinstance(stages, dict) else stages
    assert all(caption["what"] and caption["formula"] and caption["intuition"] for caption in captions)
    if isinstance(stages, dict):  # captions by stage label: one for each kind of stage of the walk the API gives
        model = next(m for m in Registry().load_all() if m.family == family)
        walk = json.loads(PRESENTERS[family].detail_json(model))["stages"]
        assert list(stages) == list(dict.fromkeys(stage["label"] for stage in walk))  # every block shares them
    if isinstance(stages, list):  # each stage highlights an element of the page
        markup = "".join((ROOT / "templates" / name).read_text() for name in (f"{family}.html", "_partials.html"))
        ids = set(re.findall(r'\bid="([^"]+)"', markup))
        assert {stage["target"] for stage in stages} <= ids


@pytest.mark.parametrize("family", NAMES)
def test_the_familys_shipped_models_trained_here_have_recipes(family: str) -> None:
    """A model trained here can be trained again; a pretrained one (trained elsewhere) has no recipe, and says where
    it comes from instead."""
    models = [model for model in Registry().load_all() if model.family == family]
    shipped = {model.id for model in models if model.record.get("source") != "pretrained"}
    trained_here = {recipe.id for recipe in recipes().values() if recipe.family == family}
    assert models
    assert shipped <= trained_here
    for model in models:
        if model.id not in shipped:
            assert model.record["provenance"]["source"]
            assert model.record["provenance"]["license"]


@pytest.mark.parametrize("family", NAMES)
def test_the_family_has_its_tests(family: str) -> None:
    for test in [f"models/test_{family}.py", f"app/test_{family}_api.py", f"browser/test_{family}_page.py"]:
        assert (ROOT / "tests" / test).is_file(), test


def test_no_page_types_a_hook_name_or_a_server_limit() -> None:
    """Hook names and limits come from the API (the detail's stages, attentions and limits; each step's name): no
    script names a hook or holds the server's smallest temperature or largest seed, and no control in a template
    bounds a value the server bounds (top-k, the penalty, the seed, x): the pages set those bounds from the detail."""
    limits = re.compile(r"(?<![\w.])(1e-4|0\.0001|2 \*\* 31|2147483647)(?![\w.])")
    for script in (ROOT / "static" / "js").rglob("*.js"):
        code = re.sub(r"//.*", "", script.read_text())  # a comment may say what a limit is
        assert not re.search(r"\bhook_(?!names\b)\w+", code), script  # the detail's `hook_names` is not a hook
        assert not limits.search(code), f"{script}: {limits.search(code)}"
    for template in (ROOT / "templates").glob("*.html"):
        bounded = r'<input id="(?:top-k|penalty|seed|x-number)"[^>]*>'  # top-p is a probability: (0, 1]
        for control in re.findall(bounded, template.read_text()):
            assert " max=" not in control, f"{template.name}: {control}"
