"""The Jinja templates of every HTML answer: the pages, the API docs page, and a browser's error page."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

templates = Jinja2Templates(directory=Path(__file__).parents[1] / "templates")
