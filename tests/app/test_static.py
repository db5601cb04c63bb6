"""Static files: gzip for clients that accept it (the same bytes once decompressed), ETags and caching headers."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount

from app.main import STATIC_DIR
from app.static import IMMUTABLE, REVALIDATE, Static
from tests.app.conftest import Client

PLOTLY = "/static/vendor/plotly-cartesian-4.1.1.min.js"
GZIP = {"accept-encoding": "gzip, deflate, br"}


def test_a_gzip_client_gets_the_file_compressed_and_a_browser_may_keep_vendored_files(client: Client) -> None:
    response = client.get(PLOTLY, headers=GZIP)
    raw = (STATIC_DIR / "vendor/plotly-cartesian-4.1.1.min.js").read_bytes()
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == raw, "httpx decompressed it: the very bytes of the file"
    assert response.num_bytes_downloaded < len(raw) / 2
    assert response.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert response.headers["etag"].endswith('-gzip"')
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["cache-control"] == IMMUTABLE


def test_a_client_without_gzip_gets_the_plain_file_and_our_own_files_are_revalidated(client: Client) -> None:
    response = client.get("/static/js/pages/mlp.js", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in response.headers
    assert response.content == (STATIC_DIR / "js/pages/mlp.js").read_bytes()
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["cache-control"] == REVALIDATE
    refused = client.get("/static/js/pages/mlp.js", headers={"accept-encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers


def test_each_variant_answers_304_to_its_own_etag(client: Client) -> None:
    zipped = client.get("/static/js/pages/mlp.js", headers=GZIP).headers["etag"]
    plain = client.get("/static/js/pages/mlp.js", headers={"accept-encoding": "identity"}).headers["etag"]
    assert zipped != plain
    again = client.get("/static/js/pages/mlp.js", headers={**GZIP, "if-none-match": zipped})
    assert (again.status_code, again.content) == (304, b"")
    assert again.headers["cache-control"] == REVALIDATE
    assert client.get("/static/js/pages/mlp.js", headers={**GZIP, "if-none-match": plain}).status_code == 200


def test_a_range_request_and_a_tiny_file_are_served_plain(client: Client) -> None:
    ranged = client.get(PLOTLY, headers={**GZIP, "range": "bytes=0-9"})
    assert ranged.status_code == 206
    assert "content-encoding" not in ranged.headers
    assert len(ranged.content) == 10
    tiny = client.get("/static/favicon.svg", headers=GZIP)
    assert "content-encoding" not in tiny.headers
    assert "vary" not in tiny.headers


def test_a_file_changed_on_disk_is_compressed_again(tmp_path: Path) -> None:
    page = tmp_path / "page.js"
    page.write_text("const a = 1;\n" * 200)
    client = Client(Starlette(routes=[Mount("/static", Static(tmp_path))]))  # type: ignore[arg-type]
    assert client.get("/static/page.js", headers=GZIP).text == page.read_text()
    page.write_text("const b = 2;\n" * 300)
    assert client.get("/static/page.js", headers=GZIP).text == page.read_text()
