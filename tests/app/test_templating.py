"""A page announces the modules it loads, found by reading their imports: each once, the page's first, every one a
file, and none of our modules left out by every page."""

from __future__ import annotations

import pytest

from app.templating import JS, modules

PAGES = sorted(path.relative_to(JS).as_posix() for path in (JS / "pages").glob("*.js"))


@pytest.mark.parametrize("page", PAGES)
def test_a_page_announces_itself_first_and_every_module_once(page: str) -> None:
    found = modules(page)
    assert found[0] == page
    assert len(found) == len(set(found))
    assert all((JS / module).is_file() for module in found)


def test_every_shared_module_is_loaded_by_some_page() -> None:
    loaded = {module for page in [*PAGES, "core/present.js"] for module in modules(page)}
    shared = {path.relative_to(JS).as_posix() for folder in ("core", "views") for path in (JS / folder).glob("*.js")}
    assert shared <= loaded, f"no page loads {sorted(shared - loaded)}"
