"""Class sessions on real servers: a follower's stream carries each of the lecturer's views, polls hold the model's
own numbers (recomputed here from the model), only the lecturer drives, codes cannot be tried at will, idle
classes end; in Redis, a lecturer on one process is followed from another, and an outage is told and recovered."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import torch

from models.families.base import TextModel
from models.registry import WEIGHTS_DIR, Registry
from tests.app.followers import Follower
from tests.servers import free_port, redis_server, serving

FACTORY = "app.main:create_app"
VIEW = "/models/tiny-gpt?text=the+dog+chased+the&stage=0&head=0&t=1"


def no_models(folder: Path) -> dict[str, str]:
    """A server that starts in a second: no models to load (a class's own routes need none)."""
    return {"LAYERWALK_TRAIN_WARM": "0", "LAYERWALK_WEIGHTS_DIR": str(folder)}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving(FACTORY, env={"LAYERWALK_TRAIN_WARM": "0"}) as url:
        yield url


def start(server: str, view: str = VIEW) -> tuple[str, dict[str, str]]:
    """A new class: its code, and the lecturer's header."""
    response = httpx.post(f"{server}/api/class", json={"view": view})
    assert response.status_code == 201, response.text
    started = response.json()
    return started["code"], {"X-Class-Secret": started["secret"]}


def drive(server: str, code: str, lecturer: dict[str, str], view: str) -> int:
    response = httpx.put(f"{server}/api/class/{code}/view", json={"view": view}, headers=lecturer)
    assert response.status_code == 200, response.text
    seq: int = response.json()["seq"]
    return seq


def test_a_follower_gets_the_view_at_once_then_every_change_the_lecturer_makes(server: str) -> None:
    code, lecturer = start(server, VIEW + "&present=1")
    follower = Follower(server, code)
    try:
        assert follower.status == 200
        assert follower.next("view") == {"view": VIEW, "seq": 1}  # presentation mode is the projector's own
        changes = [  # each kind of change a page's state holds: what the store mirrors in the URL
            VIEW.replace("stage=0", "stage=5"),  # stage
            VIEW.replace("head=0", "head=1"),  # head
            VIEW.replace("t=1", "t=0.5"),  # temperature
            VIEW + "&ux=blocks.0.attn.hook_scores_raw%3A1%2C2%2C0",  # an unfolded number
            VIEW + "&wi=%5B%7B%22op%22%3A%22no_causal_mask%22%2C%22layer%22%3A0%7D%5D",  # a what-if change
            VIEW + "&ck=150",  # a checkpoint
            "/models/tiny-translator?src=the+dog+sleeps&layer=1",  # another page, another model
            "/",  # the gallery
        ]
        for view in changes:
            seq = drive(server, code, lecturer, view)
            assert follower.next("view", seq=seq)["view"] == view
        state = httpx.get(f"{server}/api/class/{code}").json()
        assert state["view"] == {"view": "/", "seq": len(changes) + 1}
        assert state["following"] == 1
        assert "secret" not in str(state)
    finally:
        follower.close()


def test_join_takes_a_student_to_the_lecturers_view_with_the_code(server: str) -> None:
    code, lecturer = start(server)
    drive(server, code, lecturer, VIEW.replace("stage=0", "stage=3"))
    joined = httpx.get(f"{server}/join/{code.lower()}")  # typed on a phone
    assert joined.status_code == 303
    assert joined.headers["location"] == VIEW.replace("stage=0", "stage=3") + f"#class={code}"
    unknown = httpx.get(f"{server}/join/ZZZZZ2", headers={"Accept": "text/html"})
    assert unknown.status_code == 404
    assert "text/html" in unknown.headers["content-type"]
    assert "There is no class with the code &#39;ZZZZZ2&#39;" in unknown.text


def _next_probs(model_id: str, text: str, temperature: float) -> dict[str, float]:
    """The next word's distribution, from the model itself: softmax(logits / T) after the text's tokens."""
    model = Registry().load(model_id)
    assert isinstance(model, TextModel)
    with torch.no_grad():
        logits = model.next_logits(model.tokenizer.encode(text)).double()
    probs = torch.softmax(logits / temperature, dim=-1)
    return {word: float(p) for word, p in zip(model.tokenizer.vocab, probs, strict=True)}


def test_a_next_word_poll_offers_the_models_likeliest_words_counts_each_browser_once_then_shows_the_model(
    server: str,
) -> None:
    code, lecturer = start(server)
    follower = Follower(server, code)
    try:
        body = {
            "kind": "next_word",
            "model": "tiny-gpt",
            "request": {"input": "the dog chased the", "temperature": 0.8},
        }
        asked = httpx.post(f"{server}/api/class/{code}/polls", json=body, headers=lecturer)
        assert asked.status_code == 201, asked.text
        poll = asked.json()
        assert poll["question"] == "Which word comes next after “the dog chased the”?"
        assert poll["model_probs"] is None  # not before the class has answered
        probs = _next_probs("tiny-gpt", "the dog chased the", 0.8)
        likeliest = sorted(probs, key=probs.__getitem__, reverse=True)[:4]
        assert sorted(poll["choices"]) == sorted(likeliest)
        assert follower.next("poll")["choices"] == poll["choices"]

        answers = [0, 2, 2, 3, 2]
        for i, choice in enumerate(answers):
            url = f"{server}/api/class/{code}/polls/{poll['id']}/answers"
            answered = httpx.post(url, json={"choice": choice, "voter": f"browser-{i:02d}-abcdefgh"})
            assert answered.status_code == 200, answered.text
        again = httpx.post(url, json={"choice": 1, "voter": "browser-00-abcdefgh"})
        assert again.status_code == 409
        assert again.json()["detail"] == "This browser has answered this poll already: one answer each."
        counted = follower.next("poll", answers=len(answers))
        assert counted["counts"] == [answers.count(c) for c in range(4)]

        revealed = httpx.post(f"{server}/api/class/{code}/polls/{poll['id']}/reveal", headers=lecturer).json()
        assert revealed["counts"] == counted["counts"]
        assert revealed["model_probs"] == pytest.approx([probs[w] for w in poll["choices"]], abs=1e-6)
        top = revealed["distribution"]
        assert top["words"] == sorted(probs, key=probs.__getitem__, reverse=True)[:10]
        assert top["rest"] == pytest.approx(1 - sum(top["probs"]), abs=1e-9)
        assert follower.next("poll", revealed=True)["model_probs"] == revealed["model_probs"]
        late = httpx.post(url, json={"choice": 1, "voter": "browser-99-abcdefgh"})
        assert late.status_code == 409
        assert "closed" in late.json()["detail"]
    finally:
        follower.close()


def test_a_translators_next_word_poll_offers_its_french_words(server: str) -> None:
    code, lecturer = start(server)
    body = {"kind": "next_word", "model": "tiny-translator", "request": {"input": "the dog sleeps", "target": "le"}}
    poll = httpx.post(f"{server}/api/class/{code}/polls", json=body, headers=lecturer).json()
    assert poll["question"] == "Translating “the dog sleeps”: which word comes after “le”?"
    revealed = httpx.post(f"{server}/api/class/{code}/polls/{poll['id']}/reveal", headers=lecturer).json()
    forward = httpx.post(f"{server}/api/models/tiny-translator/forward", json=body["request"]).json()["output"]
    vocab = httpx.get(f"{server}/api/models/tiny-translator").json()["target_vocab"]
    logits = torch.tensor(forward["logits"], dtype=torch.float64)  # the step before: softmax(logits / 1)
    probs = dict(zip(vocab, torch.softmax(logits, dim=-1).tolist(), strict=True))
    assert sorted(poll["choices"]) == sorted(sorted(probs, key=probs.__getitem__, reverse=True)[:4])
    assert revealed["model_probs"] == pytest.approx([probs[w] for w in poll["choices"]], abs=1e-5)  # float32


def test_an_attention_poll_offers_the_words_the_query_may_read_and_shows_the_heads_row(server: str) -> None:
    code, lecturer = start(server)
    text, hook, head, query = "the dog chased the cat", "blocks.1.attn.hook_pattern", 2, 3
    body = {"kind": "attention", "model": "tiny-gpt", "request": {"input": text}, "hook": hook, "head": head,
            "query": query}  # fmt: skip
    poll = httpx.post(f"{server}/api/class/{code}/polls", json=body, headers=lecturer).json()
    assert poll["choices"] == ["0 the", "dog", "chased", "3 the"]  # causal: none after the query
    assert poll["question"] == "Block 1, head 2: which word does “the” attend to most?"
    revealed = httpx.post(f"{server}/api/class/{code}/polls/{poll['id']}/reveal", headers=lecturer).json()

    # The row, from the step before: softmax of the head's masked scores.
    scores_hook = "blocks.1.attn.hook_scores"
    forward = httpx.post(f"{server}/api/models/tiny-gpt/forward", json={"input": text, "hooks": [scores_hook]})
    masked = forward.json()["steps"][0]["data"][head][query]  # a masked score is null (−∞) in JSON
    scores = torch.tensor([-torch.inf if s is None else s for s in masked], dtype=torch.float64)
    row = torch.softmax(scores, dim=-1)[: query + 1]
    assert revealed["model_probs"] == pytest.approx(row.tolist(), abs=2e-4)  # the pattern is shown to 4 places


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({}, 401, "Only the lecturer drives the class: send the secret"),
        ({"X-Class-Secret": "not-the-secret"}, 403, "The X-Class-Secret is not this class's"),
    ],
)
def test_only_the_lecturer_drives(server: str, headers: dict[str, str], status: int, message: str) -> None:
    code, _ = start(server)
    for method, path, body in [
        ("PUT", "view", {"view": "/"}),
        ("POST", "polls", {"kind": "next_word", "model": "tiny-gpt", "request": {"input": "the"}}),
    ]:
        response = httpx.request(method, f"{server}/api/class/{code}/{path}", json=body, headers=headers)
        assert response.status_code == status
        assert response.json()["detail"].startswith(message)
    ended = httpx.delete(f"{server}/api/class/{code}", headers=headers)
    assert ended.status_code == status
    assert httpx.get(f"{server}/api/class/{code}").status_code == 200  # still there


def test_bad_requests_name_the_problem_and_the_fix(server: str) -> None:
    code, lecturer = start(server)
    cases: list[tuple[str, str, dict[str, Any], int, str]] = [
        ("PUT", "view", {"view": "https://elsewhere.example/x"}, 422, "is not a page of this site"),
        ("PUT", "view", {"view": "//elsewhere.example/x"}, 422, "is not a page of this site"),
        ("POST", "polls", {"kind": "next_word", "model": "minilm-l6", "request": {"input": "a man"}}, 422,
         "'minilm-l6' (bert) predicts no next word"),
        ("POST", "polls", {"kind": "attention", "model": "tiny-gpt", "request": {"input": "the dog"}, "head": 0,
                           "query": 0}, 422, "hook: an attention poll needs it. Send hook, head and query."),
        ("POST", "polls", {"kind": "attention", "model": "tiny-gpt", "request": {"input": "the dog"},
                           "hook": "blocks.0.attn.hook_q", "head": 0, "query": 0}, 422, "is not an attention pattern"),
        ("POST", "polls", {"kind": "attention", "model": "tiny-gpt", "request": {"input": "the dog"},
                           "hook": "blocks.0.attn.hook_pattern", "head": 0, "query": 5}, 422,
         "5 is not a position of this input (2 positions)"),
        ("POST", "polls", {"kind": "next_word", "model": "nope", "request": {"input": "the"}}, 404, "nope"),
        ("PUT", "view", {"view": "/join/ABCDEF"}, 422, "is not a page a class can look at"),
        ("PUT", "view", {"view": "/api/models"}, 422, "is not a page a class can look at"),
    ]  # fmt: skip
    for method, path, body, status, message in cases:
        response = httpx.request(method, f"{server}/api/class/{code}/{path}", json=body, headers=lecturer)
        assert response.status_code == status, (body, response.text)
        assert message in response.json()["detail"], response.text

    poll = httpx.post(f"{server}/api/class/{code}/polls", headers=lecturer,
                      json={"kind": "next_word", "model": "tiny-gpt", "request": {"input": "the"}}).json()  # fmt: skip
    answers = f"{server}/api/class/{code}/polls/{poll['id']}/answers"
    out_of_range = httpx.post(answers, json={"choice": 4, "voter": "x" * 16})
    assert out_of_range.status_code == 422
    assert "4 is not a choice of this poll (4 choices)" in out_of_range.json()["detail"]
    stale = httpx.post(f"{server}/api/class/{code}/polls/p0000/answers", json={"choice": 0, "voter": "x" * 16})
    assert stale.status_code == 404
    assert "the lecturer has asked another" in stale.json()["detail"]


def test_unknown_codes_are_404_then_429_for_every_code_once_an_address_has_tried_too_many(tmp_path: Path) -> None:
    for name in ("tiny-gpt.json", "tiny-gpt.safetensors"):  # one model, for a poll
        (tmp_path / name).write_bytes((WEIGHTS_DIR / name).read_bytes())
    with serving(FACTORY, env={**no_models(tmp_path), "LAYERWALK_CLASS_JOIN_TRIES": "3"}) as server:
        code, lecturer = start(server)
        for guess in ("AAAAAA", "BBBBBB", "CCCCCC"):
            unknown = httpx.get(f"{server}/api/class/{guess}")
            assert unknown.status_code == 404
            assert f"There is no class with the code '{guess}'" in unknown.json()["detail"]
        limited = httpx.get(f"{server}/api/class/{code}")  # a real code too: else a guess could still be told apart
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "60"
        assert "Too many unknown class codes were tried from your address" in limited.json()["detail"]
        assert httpx.get(f"{server}/join/{code}").status_code == 429
        # The class behind the same address goes on: the lecturer drives, and the current poll takes answers.
        assert httpx.put(f"{server}/api/class/{code}/view", json={"view": "/"}, headers=lecturer).status_code == 200
        body = {"kind": "next_word", "model": "tiny-gpt", "request": {"input": "the dog"}}
        poll = httpx.post(f"{server}/api/class/{code}/polls", json=body, headers=lecturer).json()
        answers = f"{server}/api/class/{code}/polls/{poll['id']}/answers"
        assert httpx.post(answers, json={"choice": 0, "voter": "v" * 16}).json()["counts"][0] == 1
        stale = httpx.post(f"{server}/api/class/{code}/polls/p1/answers", json={"choice": 0, "voter": "v" * 16})
        assert stale.status_code == 429  # no proof it belongs to the class: refused like any lookup


def test_an_idle_class_ends_and_its_followers_are_told(tmp_path: Path) -> None:
    with serving(FACTORY, env={**no_models(tmp_path), "LAYERWALK_CLASS_IDLE_S": "1"}) as server:
        code, lecturer = start(server)
        follower = Follower(server, code)
        try:
            drive(server, code, lecturer, "/")  # an action keeps it alive for another second…
            ended = follower.next("ended", timeout=5)  # …then, nothing
            assert ended["message"] == "The class expired: the lecturer has been away too long."
            assert httpx.get(f"{server}/api/class/{code}").status_code == 404
        finally:
            follower.close()


def _unsent_bytes(server_port: int, client_port: int) -> int:
    """The bytes the server has queued for a client that does not read them (the kernel's tx_queue)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, remote, _, queues = line.split()[1:5]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == client_port:
            return int(queues.split(":")[0], 16)
    return 0


def test_a_student_that_stops_reading_delays_no_one(server: str) -> None:
    code, lecturer = start(server)
    port = int(server.rsplit(":", 1)[1])
    stalled = socket.create_connection(("127.0.0.1", port))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(f"GET /api/class/{code}/events HTTP/1.1\r\nHost: x\r\n\r\n".encode())  # then never reads
    follower = Follower(server, code)
    try:
        long_view = "/models/tiny-gpt?text=" + "w" * 1900  # about 2 kB an event: 2,500 pass what the kernel holds
        with httpx.Client(base_url=server, headers=lecturer) as client:
            for _ in range(2500):
                answered = client.put(f"/api/class/{code}/view", json={"view": long_view})
                assert answered.status_code == 200
        seq = answered.json()["seq"]
        assert follower.next("view", seq=seq)["view"] == long_view  # the last one reached the reading student
        assert _unsent_bytes(port, stalled.getsockname()[1]) > 2**20  # while the stalled one's pile up, unread
    finally:
        follower.close()
        stalled.close()


# Redis: two app processes sharing one store.


@pytest.fixture(scope="module")
def redis() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture(scope="module")
def replicas(redis: str) -> Iterator[tuple[str, str]]:
    env = {"LAYERWALK_TRAIN_WARM": "0", "LAYERWALK_REDIS_URL": redis}
    with serving(FACTORY, env=env) as a, serving(FACTORY, env=env) as b:
        yield a, b


def test_a_lecturer_on_one_process_is_followed_from_another_with_polls_counted_across_both(
    replicas: tuple[str, str],
) -> None:
    a, b = replicas
    code, lecturer = start(a)
    on_a, on_b = Follower(a, code), Follower(b, code)
    try:
        assert on_b.next("view") == {"view": VIEW, "seq": 1}
        assert on_b.next("following", following=2)  # one page on each process
        seq = drive(a, code, lecturer, VIEW.replace("stage=0", "stage=4"))
        assert on_b.next("view", seq=seq)["view"] == VIEW.replace("stage=0", "stage=4")
        assert on_a.next("view", seq=seq)["view"] == VIEW.replace("stage=0", "stage=4")

        body = {"kind": "next_word", "model": "tiny-gpt", "request": {"input": "the dog"}}
        poll = httpx.post(f"{b}/api/class/{code}/polls", json=body, headers=lecturer).json()  # the lecturer moved
        sent = [0, 1, 1, 3, 1, 0]
        for i, choice in enumerate(sent):  # the class answers through both processes
            server = (a, b)[i % 2]
            answered = httpx.post(f"{server}/api/class/{code}/polls/{poll['id']}/answers",
                                  json={"choice": choice, "voter": f"student-{i:03d}-xyzxyzxyz"})  # fmt: skip
            assert answered.status_code == 200, answered.text
        twice = httpx.post(f"{a}/api/class/{code}/polls/{poll['id']}/answers",
                           json={"choice": 0, "voter": "student-001-xyzxyzxyz"})  # answered on b  # fmt: skip
        assert twice.status_code == 409
        expected = [sent.count(c) for c in range(4)]
        assert on_a.next("poll", answers=len(sent))["counts"] == expected
        assert on_b.next("poll", answers=len(sent))["counts"] == expected
        probs = _next_probs("tiny-gpt", "the dog", 1.0)
        revealed = httpx.post(f"{a}/api/class/{code}/polls/{poll['id']}/reveal", headers=lecturer).json()
        assert revealed["model_probs"] == pytest.approx([probs[w] for w in poll["choices"]], abs=1e-6)

        assert httpx.delete(f"{b}/api/class/{code}", headers=lecturer).status_code == 204
        assert on_a.next("ended")["message"] == "The lecturer ended the class."
        assert httpx.get(f"{a}/api/class/{code}").status_code == 404
    finally:
        on_a.close()
        on_b.close()


def test_when_redis_goes_away_pages_are_told_requests_say_so_and_all_recovers_when_it_returns(
    tmp_path: Path,
) -> None:
    port = free_port()
    with redis_server(port, tmp_path) as url, serving(FACTORY, env={"LAYERWALK_REDIS_URL": url}) as server:
        code, lecturer = start(server)
        follower = Follower(server, code)
        try:
            follower.next("view")
            _stop_redis(port)  # the first Redis's block ends with the test's: it is stopped from inside it
            down = follower.next("status", ok=False)
            assert down["message"].startswith(f"The class store (Redis at 127.0.0.1:{port}/0) cannot be reached")
            refused = httpx.put(f"{server}/api/class/{code}/view", json={"view": "/"}, headers=lecturer)
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "2"
            assert "cannot be reached; it is retried" in refused.json()["detail"]
            with redis_server(port, tmp_path):  # back, on the same port, with the data it saved
                follower.next("status", ok=True, timeout=15)
                assert follower.next("view")["view"] == VIEW  # the state again: it may have changed meanwhile
                seq = drive(server, code, lecturer, "/")
                assert follower.next("view", seq=seq)["view"] == "/"
        finally:
            follower.close()


def _stop_redis(port: int) -> None:
    """Shuts the Redis on `port` down the way an operator would, saving its data."""
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(b"SHUTDOWN\r\n")
        connection.recv(64)
