"""The HTML pages: a gallery, one page per model, each linked to its JSON twin, with nothing from a CDN."""

from __future__ import annotations

import re

import pytest

from models.registry import Registry
from tests.app.conftest import Client

EXTERNAL_URL = re.compile(r"""(?:src|href)=["'](?:https?:)?//(?!testserver[/:"'])""")


def test_the_gallery_links_every_model_page(client: Client) -> None:
    html = client.get("/").text
    for model_id in Registry().ids():
        assert f'href="http://testserver/models/{model_id}"' in html
        assert Registry().load(model_id).record["title"] in html


@pytest.mark.parametrize("model_id", ["sqrt-mlp-2x2", "sqrt-mlp-16x16"])
def test_a_model_page_links_its_json_twin_and_loads_vendored_plotly(client: Client, model_id: str) -> None:
    response = client.get(f"/models/{model_id}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert f'data-detail-url="http://testserver/api/models/{model_id}"' in html
    assert f'data-forward-url="http://testserver/api/models/{model_id}/forward"' in html
    assert "/static/vendor/plotly-cartesian-4.1.1.min.js" in html


@pytest.mark.parametrize(
    "path",
    ["/", "/models/sqrt-mlp-2x2", "/models/textnet-2d-sgd", "/models/tiny-gpt", "/models/tiny-translator", "/docs"],
)
def test_pages_reference_nothing_outside_the_server(client: Client, path: str) -> None:
    assert not EXTERNAL_URL.findall(client.get(path).text)


def test_the_vendored_plotly_is_served_with_its_version_in_the_name(client: Client) -> None:
    response = client.get("/static/vendor/plotly-cartesian-4.1.1.min.js")
    assert response.status_code == 200
    assert "plotly.js (cartesian - minified) v4.1.1" in response.text[:200]


def test_the_api_docs_page_loads_swagger_ui_from_this_server(client: Client) -> None:
    html = client.get("/docs").text
    assert "http://testserver/static/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js" in html
    assert "<script>" not in html  # started from a static file: no inline script for the CSP to allow
    assert not EXTERNAL_URL.findall(html)
    assert client.get("/redoc").status_code == 404


def test_a_text_net_page_links_its_generate_twin_and_its_sibling_models(client: Client) -> None:
    html = client.get("/models/textnet-2d-sgd").text
    assert 'data-generate-url="http://testserver/api/models/textnet-2d-sgd/generate"' in html
    assert 'href="http://testserver/models/textnet-4d-adam" data-model-link' in html
    assert "sqrt-mlp" not in html  # siblings are the same family only


@pytest.mark.parametrize("path", ["/", "/models/tiny-gpt", "/api/models", "/docs", "/static/css/layerwalk.css"])
def test_every_response_carries_the_security_headers(client: Client, path: str) -> None:
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self';" in csp  # no inline scripts, no CDN
    assert "frame-ancestors 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"


def test_errors_carry_the_security_headers_too(client: Client) -> None:
    assert "content-security-policy" in client.get("/api/models/nope").headers


BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.mark.parametrize("path", ["/models/nope", "/no/such/page"])
def test_a_browser_gets_a_missing_page_as_a_page_with_the_message_and_a_way_back(client: Client, path: str) -> None:
    response = client.get(path, headers=BROWSER)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    detail = client.get(path).json()["detail"]  # what an API client is told, as JSON
    assert f'<p class="lede" id="error-detail">{detail}</p>' in response.text.replace("&#39;", "'")
    assert 'href="http://testserver/"' in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]


def test_the_api_answers_json_even_to_a_browser(client: Client) -> None:
    response = client.get("/api/models/nope", headers=BROWSER)
    assert response.status_code == 404
    assert response.json()["detail"].startswith("Unknown model")
