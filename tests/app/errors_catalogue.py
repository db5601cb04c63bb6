"""docs/errors.md, generated: each case of tests/app/error_cases.py with the status and `detail` the app answers now.

Run `.venv/bin/python -m tests.app.errors_catalogue` after changing a message or a case;
tests/app/test_errors.py fails while docs/errors.md differs from what this writes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from app.main import create_app
from tests.app.conftest import Client
from tests.app.error_cases import CASES, JSON, SECTIONS, Case

DOC = Path(__file__).parents[2] / "docs" / "errors.md"
COMMAND = ".venv/bin/python -m tests.app.errors_catalogue"
REPEATED = re.compile(r"(.{1,8}?)\1{9,}", re.DOTALL)  # a piece of 1 to 8 characters, ten times or more in a row

INTRO = f"""# Errors

<!-- Generated from tests/app/error_cases.py: edit the cases there, then run the command below. -->

Every 4xx the API gives (a 429 when live training is full), and the 503 of a busy server: a request that gets it,
and the `detail` of the answer. The rules they all follow are in [api.md](api.md#errors): the body is
`{{"detail": "<one message>"}}`, a 422 adds `errors`, one `{{field, message}}` per bad field, and each message names
the problem and the fix.

This page is generated from the {len(CASES)} cases in `tests/app/error_cases.py`, with the status and `detail` the
app answers to each. `tests/app/test_errors.py` sends every case and checks its status and exact `detail`, and fails
while this page differs from what the generator writes now. To regenerate it:

    {COMMAND}

A body is sent with `Content-Type: application/json` unless its row says otherwise. A piece repeated ten times or
more is written `‹"dog " × 110›`: `dog ` 110 times."""


def shorten(text: str) -> str:
    """Long repeats as ‹"piece" × n›, so a 20,000-byte body fits in a table cell."""
    return REPEATED.sub(lambda m: f"‹{json.dumps(m[1])} × {len(m[0]) // len(m[1])}›", text)


def cell(text: str) -> str:
    """Text that cannot end a Markdown table cell early."""
    return text.replace("|", "\\|")


def code(text: str) -> str:
    return f"`{cell(shorten(text))}`"


def request(case: Case) -> str:
    lines = [code(f"{case.method} {case.path}")]
    if case.body is not None:
        body = case.body if isinstance(case.body, str) else case.body.decode(errors="backslashreplace")
        lines.append(code(body) if body else "an empty body")
        if case.content_type != JSON:
            lines.append(f"Content-Type: {case.content_type}" if case.content_type else "no Content-Type")
    if case.chunk:
        lines.append(f"streamed in chunks of {case.chunk} bytes, no Content-Length")
    if case.busy:
        lines.append("sent while the server handles as many requests as it may (LAYERWALK_MAX_ACTIVE_REQUESTS)")
    if case.training:
        lines.append("sent while as many live training runs go as the server allows (LAYERWALK_TRAIN_RUNS)")
    return "<br>".join(lines)


def answer(response: httpx.Response) -> str:
    lines = [code(response.json()["detail"])]
    if "retry-after" in response.headers:
        lines.append(f"and the header `Retry-After: {response.headers['retry-after']}`")
    return "<br>".join(lines)


def row(case: Case, response: httpx.Response) -> str:
    return f"| {response.status_code} | {cell(case.title)} | {request(case)} | {answer(response)} |"


def anchor(title: str) -> str:
    """The id GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def render(client: Client) -> str:
    """The whole page, from the responses `client` gets to every case."""
    parts = [INTRO, "\n".join(f"- [{title}](#{anchor(title)})" for title in SECTIONS)]
    for title, cases in SECTIONS.items():
        table = ["| status | when | request | `detail` |", "| --- | --- | --- | --- |"]
        parts.append("\n".join([f"## {title}", "", *table, *(row(case, case.send(client)) for case in cases)]))
    return "\n\n".join(parts) + "\n"


def main() -> None:
    DOC.write_text(render(Client(create_app())), encoding="utf-8")
    print(f"wrote {DOC}: {len(CASES)} cases")


if __name__ == "__main__":
    main()
