"""The JSON API as a whole: health, the model list and its order, the OpenAPI document. Each family's answers are
tested in test_<family>_api.py; every error, in error_cases.py."""

from __future__ import annotations

from models.registry import Registry
from tests.app.conftest import Client


def test_healthz_counts_the_models_served(client: Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "models": len(Registry().ids())}


def test_the_model_list_summarises_every_model_by_family_then_smallest_first(client: Client) -> None:
    models = client.get("/api/models").json()
    assert [m["id"] for m in models] == [
        "sqrt-mlp-2x2", "sqrt-mlp-16x16", "textnet-2d-sgd", "textnet-4d-adam", "tiny-gpt", "shakespeare-char",
        "tiny-translator", "minilm-l6",
    ]  # fmt: skip
    for m in models:
        model = Registry().load(m["id"])
        assert m["family"] == model.record["family"]
        assert m["n_params"] == sum(p.numel() for p in model.module.parameters())
        assert m["title"]
        assert m["description"]
        source = model.record.get("source", "generated")
        assert (
            m["provenance"]["summary"]
            == {
                "pretrained": "pretrained elsewhere",
                "text": "trained here on real text",
                "generated": "trained here on generated data",
            }[source]
        )
        # a model made elsewhere, or from a text, says under what terms; generated data is our own
        assert (m["provenance"]["license"] is not None) == (source != "generated")


def test_the_openapi_page_and_schema_are_served(client: Client) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/healthz", "/api/models", "/api/models/{model_id}", "/api/models/{model_id}/forward"} <= set(paths)
    assert "/" not in paths  # pages are HTML, not part of the JSON API
