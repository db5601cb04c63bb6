"""The Jinja templates of every HTML answer (the pages, the API docs page, a browser's error page), and the ES
modules a page loads: its module and every module that one imports, found by reading their imports, so that a
page can announce them all at once (modulepreload) without a list kept by hand."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path, PurePosixPath

from fastapi.templating import Jinja2Templates

ROOT = Path(__file__).parents[1]
JS = ROOT / "static" / "js"
# A static import or re-export at the start of a line: `import "./a.js"`, `import { b } from "./b.js"`, `export * from`.
IMPORT = re.compile(r"""^\s*(?:import|export)\s+(?:[^'";]*?\s+from\s+)?["']([^"']+)["']""", re.MULTILINE)

TEMPLATES = ROOT / "templates"
templates = Jinja2Templates(directory=TEMPLATES)


@cache
def modules(entry: str) -> list[str]:
    """`entry` (a path under static/js) and every module it imports, directly or not, each once, entry first."""
    found: list[str] = []
    todo = [entry]
    while todo:
        module = todo.pop(0)
        if module in found:
            continue
        found.append(module)
        for imported in IMPORT.findall((JS / module).read_text()):
            if imported.startswith("."):
                todo.append(_normal(str(PurePosixPath(module).parent / imported)))
    return found


def _normal(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part == ".." and not parts:
            raise ValueError(f"{path} leaves static/js")
        if part == "..":
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


templates.env.globals["modules"] = modules
