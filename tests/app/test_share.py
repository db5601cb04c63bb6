"""The QR code of a view's URL, drawn by the server itself."""

from __future__ import annotations

import io

import segno
import zxingcpp
from PIL import Image

from tests.app.conftest import Client


def test_the_qr_code_is_svg_of_the_text_given(client: Client) -> None:
    url = "http://127.0.0.1:8000/models/tiny-gpt?text=dog%20bites%20man&stage=7&head=2"
    response = client.get("/api/qr", params={"text": url})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.text.startswith("<svg")
    # the same matrix, rendered to pixels here, decodes to the URL
    png = io.BytesIO()
    segno.make(url, error="m", micro=False).save(png, kind="png", scale=8, border=4)
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(png))] == [url]
    assert f'width="{(segno.make(url, error="m", micro=False).symbol_size(scale=8, border=4))[0]}"' in response.text


def test_text_that_does_not_fit_in_a_qr_code_is_a_422_saying_what_fits(client: Client) -> None:
    response = client.get("/api/qr", params={"text": "\N{GRINNING FACE}" * 600})  # 600 characters, 2,400 bytes
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "text: the text does not fit in a QR code (600 characters, 2400 bytes as UTF-8). "
        "Send at most 2000 ASCII characters."
    )
