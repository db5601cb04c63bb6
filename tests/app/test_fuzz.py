"""Schemathesis fuzzes every operation in /openapi.json against the real app, in process: no request is a 500, and
every response (status code, content type, headers, body) is one the OpenAPI document describes.

One run takes the model ids as the fuzzer makes them; then each served model gets a run of its own, with its id in
the path. There, half of the bodies generated to be valid are made ones the model can serve (words of its
vocabulary, top_k within it, no field its family refuses), and those must be answered 200: the generated sampling
settings reach the forward pass, and the success path's responses are checked too. Generation is derandomized
with a fixed seed per run (the same cases on every run) and keeps no example database.
"""

from __future__ import annotations

import zlib
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import HealthCheck
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from app.main import create_app
from app.schemas import TEMPERATURE_MIN
from tests.app.conftest import Client

APP = create_app()
MODELS: dict[str, dict[str, Any]] = {
    m["id"]: Client(APP).get(f"/api/models/{m['id']}").json() for m in Client(APP).get("/api/models").json()
}
MAX_EXAMPLES = 60  # per operation and run, in the fuzzing phase; the coverage phase adds cases of its own
# Every check that judges one response. Not positive_data_acceptance: a body the schema allows may still name a
# word outside the vocabulary, a documented 422; the servable bodies below check acceptance where it is due.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,  # a request the schema rules out gets a 4xx
    unsupported_method,  # a method the path does not take gets 405 with Allow
]
SAMPLING = ("temperature", "top_k", "top_p", "repetition_penalty")
ENGLISH = ["A", "man", "is", "eating", "food", "unbelievably", "Zürich", "?", "naïve", "42"]
SERVABLE: set[str] = set()  # ids of the cases made servable
SENT: Counter[str] = Counter()  # requests, by run and operation


def _words(vocab: list[str], min_size: int = 1) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(vocab), min_size=min_size, max_size=6).map(" ".join)


def _changes(detail: dict[str, Any]) -> st.SearchStrategy[list[dict[str, Any]]]:
    """What-if changes this model takes whatever the input: a transformer's blocks and heads (the translator's by
    stack), the MLP's weights, the text net's points (docs/api.md, What if)."""
    family, config = detail["family"], detail["config"]
    if family == "mlp":
        change = st.builds(lambda v: {"op": "set_param", "name": "layers.0.W", "index": [0, 0], "value": v},
                           st.floats(-5, 5))  # fmt: skip
    elif family == "textnet":
        change = st.builds(
            lambda word, dim, v: {"op": "set_param", "name": "E", "index": [word, dim], "value": v},
            st.integers(0, len(detail["vocab"]) - 1), st.integers(0, len(detail["embedding"][0]) - 1), st.floats(-3, 3),
        )  # fmt: skip
    else:
        layers, heads = st.integers(0, config["n_layers"] - 1), st.integers(0, config["n_heads"] - 1)
        stacks = st.sampled_from(["encoder", "decoder", "cross"]) if family == "seq2seq" else st.none()

        def placed(change: dict[str, Any], stack: str | None) -> dict[str, Any]:
            return change if stack is None else {**change, "stack": stack}

        change = st.one_of(
            st.builds(lambda layer, stack: placed({"op": "no_scaling", "layer": layer}, stack), layers, stacks),
            st.builds(lambda layer, head, stack: placed({"op": "ablate_head", "layer": layer, "head": head}, stack),
                      layers, heads, stacks),
            st.just({"op": "no_positions"}),
        )  # fmt: skip
    return st.lists(change, max_size=3)


def _servable(detail: dict[str, Any], body: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """`body`, valid by the schema, changed where it must be for this model to serve it."""
    family, vocab = detail["family"], detail.get("vocab", ENGLISH)  # an encoder reads any English
    fields: dict[str, st.SearchStrategy[Any]] = {}
    if "hook" in body:  # an unfolding explains the unchanged pass
        body = {k: v for k, v in body.items() if k != "interventions"}
    elif "interventions" in body:
        fields["interventions"] = _changes(detail)
    if "checkpoint" in body:  # a saved step, or the final weights; a model with none takes none
        saved = detail["checkpoints"]
        if saved:
            fields["checkpoint"] = st.none() | st.sampled_from(saved)
        else:
            body = {k: v for k, v in body.items() if k != "checkpoint"}
    if "hooks" in body:  # the default, or a few of the model's own (not "all": a pretrained encoder's is megabytes)
        fields["hooks"] = st.none() | st.lists(st.sampled_from(detail["hook_names"]), max_size=3)
    for cut in ("heads", "positions"):  # a part that starts within every value: the first row or head
        if cut in body:
            fields[cut] = st.none() | st.integers(1, 4).map(lambda stop: [0, stop])
    if family == "bert":  # any text of a few words; nothing an encoder refuses (sampling settings, a target)
        body = {k: v for k, v in body.items() if k not in (*SAMPLING, "target")}
        if "hook" in body:  # explain: the first piece's ([CLS]) first embedding value, there whatever the input
            fields["hook"], fields["index"] = st.just("hook_embed"), st.just([0, 0])
        for name in ("input", "other"):
            if name in body:
                fields[name] = _words(vocab)
        return st.fixed_dictionaries(fields).map(lambda drawn: {**body, **drawn})
    if family == "mlp":  # a number near the training domain; no sampling settings, no target
        body = {k: v for k, v in body.items() if k not in (*SAMPLING, "target")}
        fields["input"] = st.floats(-20, 20)
        if "hook" in body:  # explain: the first unit of the first layer, there whatever the input
            fields["hook"], fields["index"] = st.just(detail["hook_names"][0]), st.just([0])
        return st.fixed_dictionaries(fields).map(lambda drawn: {**body, **drawn})
    outputs = detail.get("target_vocab") or vocab
    if "hook" in body:  # explain: a next-token probability, whose shape does not depend on the input
        fields["hook"], fields["index"] = st.just("output.probs"), st.integers(0, len(outputs) - 1).map(lambda i: [i])
    if (body.get("top_k") or 0) > len(outputs):
        fields["top_k"] = st.integers(1, len(outputs))
    if body.get("max_new_tokens", 0) > detail["limits"]["max_new_tokens"]:  # a word model adds 20, a character 400
        fields["max_new_tokens"] = st.integers(1, detail["limits"]["max_new_tokens"])
    if 0 < body.get("temperature", 1) < TEMPERATURE_MIN:
        fields["temperature"] = st.just(0.0)
    for name in ("input", "prompt", "other"):
        if name in body:
            fields[name] = _words(vocab)
    if family == "seq2seq" and "input" in body:
        fields["target"] = st.none() | _words(detail["target_vocab"][2:], min_size=0)  # not <s>, </s>
    elif "target" in body:
        body = {k: v for k, v in body.items() if k != "target"}
    return st.fixed_dictionaries(fields).map(lambda drawn: {**body, **drawn})


def fuzzed(model_id: str | None) -> schemathesis.BaseSchema:
    """The app's schema, set up for one run: a served model's operations, or (None) every operation."""
    schema: schemathesis.BaseSchema = schemathesis.openapi.from_asgi("/openapi.json", APP)
    schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, database="none")
    schema.config.seed = zlib.crc32((model_id or "").encode())  # fixed, and different for each run
    schema.config.update(suppress_health_check=[HealthCheck.too_slow])  # a busy CI machine is not a failure
    # A body the schema rules out may also be over the body limit (eight changes of long strings): 413 rejects it too.
    schema.config.checks.negative_data_rejection.expected_statuses.append("413")
    if model_id is None:
        return schema
    schema = schema.include(path_regex=r"\{model_id\}")
    schema.config.update(parameters={"model_id": model_id})
    detail = MODELS[model_id]

    def make_servable(_ctx: schemathesis.HookContext, case: schemathesis.Case[Any]) -> st.SearchStrategy[Any]:
        positive = case.meta is not None and case.meta.generation.mode.is_positive
        family = detail["family"]
        refused = (family in ("mlp", "bert") and case.path.endswith("/generate")) or (  # a 404 by design
            family not in ("gpt", "bert") and case.path.endswith("/compare")
        )
        if not positive or not isinstance(case.body, dict) or refused:
            return st.just(case)

        def servable(body: dict[str, Any]) -> schemathesis.Case[Any]:
            case.body = body
            SERVABLE.add(case.id)
            return case

        return _servable(detail, case.body).map(servable) | st.just(case)

    schema.hook("flatmap_case")(make_servable)
    return schema


RUNS = {"any_id": fuzzed(None), **{model_id: fuzzed(model_id) for model_id in MODELS}}


@schemathesis.pytest.parametrize(**RUNS)
def test_every_response_is_documented_and_none_is_a_server_error(case: schemathesis.Case[Any]) -> None:
    response = case.call_and_validate(checks=CHECKS)
    SENT[f"{case.operation.schema.config.parameters.get('model_id', 'any_id')} {case.operation.label}"] += 1
    if case.id in SERVABLE:
        assert response.status_code == 200, f"{case.body!r} was not served: {response.content!r}"


def test_the_fuzzer_sent_over_a_thousand_requests_to_every_operation() -> None:
    operations = sum(len(list(schema.get_all_operations())) for schema in RUNS.values())
    if len(SENT) < operations:
        pytest.skip("counts the requests of a run of every fuzz test above; run the whole file")
    assert sum(SENT.values()) >= 1000, SENT
    assert len(SERVABLE) >= 100  # and a good share of them were served
