"""Behind a reverse proxy at a sub-path: the pages, their static files and their API calls all resolve there."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send

from app.config import Settings
from app.main import create_app
from tests.app.conftest import Client

PREFIX = "/layerwalk"
URL = re.compile(r"""(?:src|href|data-[a-z-]+-url)="(http://testserver[^"]*)\"""")


def behind_proxy(app: Any) -> Any:
    """What nginx does with `location /layerwalk/ { proxy_pass http://app/; }`: strip the prefix, pass the rest."""

    async def proxy(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            assert scope["path"].startswith(PREFIX + "/"), scope["path"]
            scope = {**scope, "path": scope["path"][len(PREFIX) :], "raw_path": scope["raw_path"][len(PREFIX) :]}
        await app(scope, receive, send)

    return proxy


@pytest.fixture(scope="module")
def proxied() -> Client:
    return Client(behind_proxy(create_app(Settings(root_path=PREFIX))))


@pytest.mark.parametrize("page", ["/", "/models/sqrt-mlp-2x2", "/models/tiny-gpt", "/models/tiny-translator", "/docs"])
def test_every_url_a_page_uses_resolves_under_the_prefix(proxied: Client, page: str) -> None:
    response = proxied.get(PREFIX + page)
    assert response.status_code == 200
    urls = set(URL.findall(response.text))
    assert urls
    for url in urls:
        path = url.removeprefix("http://testserver")
        assert path.startswith(PREFIX + "/"), url  # links, static files and the page's API twins
        if path.endswith(("/forward", "/generate", "/compare", "/explain", "/train")):
            continue  # POST-only: checked below
        query = {"text": "http://example/x"} if path.endswith("/api/qr") else None
        assert proxied.get(path, params=query).status_code == 200, url


def test_the_api_answers_under_the_prefix(proxied: Client) -> None:
    assert proxied.get(f"{PREFIX}/healthz").json()["status"] == "ok"
    response = proxied.post(f"{PREFIX}/api/models/sqrt-mlp-2x2/forward", json={"input": 2.0})
    assert response.status_code == 200
    unfolding = {"input": "dog bites", "hook": "blocks.0.attn.hook_scores_raw", "index": [0, 1, 0]}
    assert proxied.post(f"{PREFIX}/api/models/tiny-gpt/explain", json=unfolding).status_code == 200
    assert proxied.get(f"{PREFIX}/openapi.json").json()["servers"] == [{"url": PREFIX}]


def test_a_root_path_that_is_not_a_path_is_refused() -> None:
    with pytest.raises(ValueError, match="root_path"):
        Settings(root_path="layerwalk/")


def test_a_proxy_that_keeps_the_prefix_works_too() -> None:
    # nginx `proxy_pass http://app;` (no trailing slash) passes /layerwalk/... through unchanged
    client = Client(create_app(Settings(root_path=PREFIX)))
    page = client.get(f"{PREFIX}/models/tiny-gpt")
    assert page.status_code == 200
    assert f'href="http://testserver{PREFIX}/static/css/layerwalk.css"' in page.text
    assert client.get(f"{PREFIX}/static/css/layerwalk.css").status_code == 200
