"""Class sessions (docs/api.md, Class sessions): a lecturer starts one, the class's pages follow its view as
Server-Sent Events, polls ask the class before the model answers. /join/CODE takes a student to the lecture."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncGenerator, Callable
from dataclasses import replace
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, FastAPI, Header, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from app import schemas
from app.classroom import Classroom
from app.classroom.board import CODE_LENGTH, Poll, Session, StoreDownError, digest, new_secret
from app.classroom.polls import attention, next_word
from app.deps import PassesDep, RegistryDep, get_model
from app.errors import BUSY, ErrorResponse, InputError, documented, shortened
from app.presenters import presenter_for
from app.routes.api import at
from app.routes.train import RETRY, as_json
from app.streams import EventStream, sse
from app.templating import templates

WINDOW_S = 60.0  # join attempts are counted per address over this window
PING_S = 15.0  # a comment this often keeps proxies from closing a quiet stream and finds pages that left
RECONNECT_MS = 1000  # how soon a browser reconnects a stream that ended (the server stopping, a replica gone)
STORE_RETRY_S = 2
MAX_VIEW = 2000  # characters of a view: a path and query string, as a QR code holds them
Code = Annotated[str, Path(description="The class's join code: 6 letters and digits, any case")]

router = APIRouter(tags=["class"])
Secret = Annotated[
    str | None,
    Header(alias="X-Class-Secret", description="The lecturer's secret, as POST /api/class gave it", max_length=100),
]
ERRORS: dict[int | str, dict[str, Any]] = {
    400: documented("A body that cannot be parsed: not UTF-8, JSON nested too deeply, or a number too long"),
    401: documented("No X-Class-Secret header: only the lecturer drives"),
    403: documented("A wrong X-Class-Secret"),
    404: documented("No class with this code (never started, ended, or expired after LAYERWALK_CLASS_IDLE_S idle)"),
    413: documented("Request body over the size limit"),
    422: documented("Invalid input; the message names the field and the fix"),
    429: {
        **documented("Too many unknown codes tried from this address (LAYERWALK_CLASS_JOIN_TRIES)"),
        "headers": RETRY,
    },
    **BUSY,
}


class Started(BaseModel):
    code: str = Field(description="The join code: 6 letters and digits, read off the projector")
    secret: str = Field(
        description="The lecturer's secret: send it as X-Class-Secret to drive; never shown to students"
    )
    join_path: str = Field(description="Where students go: /join/CODE (a QR code of it on the projector)")
    idle_expiry_s: float = Field(description="The class ends this long after the lecturer's last action")


class ViewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    view: str = Field(
        min_length=1, max_length=MAX_VIEW,
        description="A page of this site, as a path and query string: /models/tiny-gpt?text=dog&stage=3",
    )  # fmt: skip


class StartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    view: str | None = Field(default=None, max_length=MAX_VIEW, description="The lecturer's page when it starts")


class PollBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["next_word", "attention"] = Field(
        description="'next_word': which word comes next (the model's likeliest words, shuffled); 'attention': which "
        "word a head attends to most from the `query` position"
    )
    model: str = Field(description="The model, by id", max_length=200)
    request: schemas.ForwardRequest = Field(description="The forward request the lecturer's page shows")
    choices: int = Field(default=4, ge=2, le=8, description="next_word: how many words to offer")
    hook: str | None = Field(default=None, max_length=200, description="attention: the pattern's hook name")
    head: int | None = Field(default=None, ge=0, description="attention: the head")
    query: int | None = Field(default=None, ge=0, description="attention: the position whose row is asked about")


class AnswerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    choice: int = Field(ge=0, description="The index of the chosen word in the poll's `choices`")
    voter: str = Field(
        pattern=r"^[A-Za-z0-9_-]{16,64}$",
        description="A random id this browser keeps, so it answers each poll once; only its hash is kept",
    )


class PollOut(BaseModel):
    id: str
    kind: str
    question: str
    model: str
    choices: list[str]
    counts: list[int] = Field(description="The class's answers, per choice")
    answers: int
    open: bool
    revealed: bool
    model_probs: list[float] | None = Field(description="Once revealed: the model's probability (or weight) per choice")
    distribution: dict[str, Any] | None = Field(description="Once revealed: {words, probs, rest}, the model's own")


class ViewOut(BaseModel):
    view: str
    seq: int


class ClassOut(BaseModel):
    code: str
    view: ViewOut | None
    poll: PollOut | None
    following: int = Field(description="Pages following the class (on every replica, with Redis)")
    idle_expiry_s: float


def _classroom(request: Request) -> Classroom:
    classroom: Classroom = request.app.state.classroom
    return classroom


def _client(request: Request) -> str:
    """Who tries codes, as the limit counts them: a hash of the address, kept for one window."""
    return digest(request.client.host if request.client else "unknown")[:20]


async def _limited(request: Request, kind: str = "join") -> None:
    classroom = _classroom(request)
    tries = classroom.settings.class_join_tries
    if await classroom.board.tried(f"{kind}:{_client(request)}", WINDOW_S, failed=False) >= tries:
        what = "unknown class codes were tried" if kind == "join" else "classes were started"
        detail = (
            f"Too many {what} from your address in the last minute (at most {tries}, setting "
            f"LAYERWALK_CLASS_JOIN_TRIES). Check the code on the projector and try again in a minute."
        )
        raise HTTPException(status_code=429, detail=detail, headers={"Retry-After": str(int(WINDOW_S))})


async def _session(request: Request, code: str, proven: Callable[[Session], bool] | None = None) -> Session:
    """The class with this code; a 404 (counted towards the address's limit) if there is none.

    An address that has tried too many unknown codes gets 429 for every code, known or not, so that a known one
    cannot be told apart by its answer, unless the request proves it belongs to the class (`proven`: the lecturer's
    secret, the current poll's id): a class behind one address, as a hall's Wi-Fi often is, is never locked out of
    its own lecture by a few mistyped codes."""
    classroom = _classroom(request)
    shaped = len(code) == CODE_LENGTH and code.isascii() and code.isalnum()
    found = await classroom.board.session(code.upper()) if shaped else None
    if found is not None and proven is not None and proven(found):
        return found
    await _limited(request)
    if found is not None:
        return found
    await classroom.board.tried(f"join:{_client(request)}", WINDOW_S, failed=True)
    if not shaped:
        detail = (
            f"{shortened(code)} is not a class code: codes have 6 letters and digits. Check the code on the projector."
        )
    else:
        detail = (
            f"There is no class with the code {code.upper()!r}: it may have ended, or expired after "
            f"{classroom.settings.class_idle_s / 60:g} minutes without the lecturer. Check the code on the "
            "projector, or ask the lecturer to start a new class."
        )
    raise HTTPException(status_code=404, detail=detail)


def _lecturer(secret: str | None) -> Callable[[Session], bool]:
    return lambda session: bool(secret) and hmac.compare_digest(digest(secret or ""), session.secret_hash)


async def _driving(request: Request, code: str, secret: str | None) -> Session:
    """The class, if the request carries its lecturer's secret."""
    session = await _session(request, code, _lecturer(secret))
    if not secret:
        detail = (
            "Only the lecturer drives the class: send the secret given when the class started in the X-Class-Secret "
            "header (the lecturer's browser keeps it)."
        )
        raise HTTPException(status_code=401, detail=detail)
    if not _lecturer(secret)(session):  # 192 random bits: guessing it is hopeless, and needs no limit
        detail = (
            f"The X-Class-Secret is not this class's ({session.code}). Drive it from the browser that started it, "
            "or start a new class."
        )
        raise HTTPException(status_code=403, detail=detail)
    return session


# Where a view may not send the class: pages that are not views (a join would send it round in a loop).
NOT_VIEWS = ("/join/", "/api/", "/static/")


def _view(request: Request, view: str) -> str:
    """A view is a page of this site: its path (under the root path) and query string, without `present`."""
    parts = urlsplit(view)
    root = request.scope.get("root_path", "")
    if parts.scheme or parts.netloc or not view.startswith(root + "/") or view.startswith("//") or "\\" in view:
        fix = f"Send a path and query string starting with '{root}/', e.g. '{root}/models/tiny-gpt'."
        raise InputError("view", f"{view[:60]!r} is not a page of this site", fix)
    if any(parts.path.startswith(root + prefix) for prefix in NOT_VIEWS):
        raise InputError("view", f"{view[:60]!r} is not a page a class can look at",
                         "Send the path of a page: the gallery, a model's page, the API docs.")  # fmt: skip
    if any(ord(c) < 32 for c in view):
        raise InputError("view", "it holds control characters", "Send the page's path and query string as they are.")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "present"]
    return parts.path + (f"?{urlencode(query)}" if query else "")


async def _expired(classroom: Classroom, code: str) -> bool:
    """Whether the class has gone without a word (expired); while its store is away, it has not."""
    try:
        return await classroom.board.session(code) is None
    except StoreDownError:
        return False


async def _class_out(classroom: Classroom, session: Session) -> ClassOut:
    following, _ = await classroom.board.following(session.code, None)
    return ClassOut(
        code=session.code,
        view=None if session.view is None else ViewOut(view=session.view, seq=session.seq),
        poll=None if session.poll is None else PollOut(**session.poll.public(session.counts)),
        following=following,
        idle_expiry_s=classroom.settings.class_idle_s,
    )


@router.post("/api/class", status_code=201, responses={**ERRORS, 503: documented("No room for another class now")})
async def start_class(request: Request, body: StartBody | None = None) -> Started:
    """Start a class: its join code, and the secret the lecturer's browser keeps to drive it."""
    await _limited(request, "start")
    classroom = _classroom(request)
    view = None if body is None or body.view is None else _view(request, body.view)
    secret = new_secret()
    code = await classroom.board.create(digest(secret), view)
    await classroom.board.tried(f"start:{_client(request)}", WINDOW_S, failed=True)  # starting counts, too
    if code is None:
        detail = (
            f"The server holds as many classes as it may ({classroom.settings.class_max_sessions}, setting "
            "LAYERWALK_CLASS_MAX_SESSIONS). Try again when one has ended or expired."
        )
        raise HTTPException(status_code=503, detail=detail, headers={"Retry-After": "60"})
    join = str(request.url_for("join_class", code=code).path)
    return Started(code=code, secret=secret, join_path=join, idle_expiry_s=classroom.settings.class_idle_s)


@router.get("/api/class/{code}", responses=ERRORS)
async def class_state(request: Request, code: Code) -> ClassOut:
    """The class's view and poll now, and how many pages follow it."""
    return await _class_out(_classroom(request), await _session(request, code))


@router.put("/api/class/{code}/view", responses=ERRORS)
async def set_view(request: Request, code: Code, body: ViewBody,
                   secret: Secret = None) -> ViewOut:  # fmt: skip
    """The lecturer's view now: every page of the class follows it."""
    session = await _driving(request, code, secret)
    view = _view(request, body.view)
    classroom = _classroom(request)
    seq = await classroom.board.set_view(session.code, view)
    await classroom.board.publish(session.code, "view", {"view": view, "seq": seq})
    return ViewOut(view=view, seq=seq)


@router.delete("/api/class/{code}", status_code=204, response_class=Response, responses=ERRORS)
async def end_class(request: Request, code: Code, secret: Secret = None) -> None:
    """End the class: its pages are told, and its code stops working."""
    session = await _driving(request, code, secret)
    classroom = _classroom(request)
    await classroom.board.end(session.code)
    await classroom.board.publish(session.code, "ended", {"message": "The lecturer ended the class."})


@router.post("/api/class/{code}/polls", status_code=201, responses=ERRORS)
async def ask(request: Request, code: Code, body: PollBody,
              registry: RegistryDep, passes: PassesDep, secret: Secret = None) -> PollOut:  # fmt: skip
    """Ask the class a question the model answers: which word comes next, or which word a head attends to most.
    A new poll takes the place of the one before."""
    session = await _driving(request, code, secret)
    model = at(await get_model(body.model, request), body.request.checkpoint, registry)
    presenter = presenter_for(model)
    if body.kind == "next_word":
        poll = next_word(model, presenter, body.request, passes, body.choices)
    else:
        hook, head, query = body.hook, body.head, body.query
        if hook is None or head is None or query is None:
            missing = next(name for name in ("hook", "head", "query") if getattr(body, name) is None)
            raise InputError(missing, "an attention poll needs it", "Send hook, head and query.")
        poll = attention(model, presenter, body.request, passes, hook, head, query)
    classroom = _classroom(request)
    await classroom.board.put_poll(session.code, poll)
    public = poll.public([0] * len(poll.choices))
    await classroom.board.publish(session.code, "poll", public)
    return PollOut(**public)


def _current(session: Session, poll_id: str) -> Poll:
    if session.poll is None or session.poll.id != poll_id:
        detail = f"Poll {poll_id!r} is not this class's current poll: the lecturer has asked another. Answer that one."
        raise HTTPException(status_code=404, detail=detail)
    return session.poll


@router.post("/api/class/{code}/polls/{poll_id}/answers", responses={**ERRORS, 409: documented("Answered already")})
async def answer(request: Request, code: Code,
                 poll_id: Annotated[str, Path(max_length=40)], body: AnswerBody) -> PollOut:  # fmt: skip
    """A student's answer: one per browser per poll."""
    session = await _session(request, code, lambda s: s.poll is not None and s.poll.id == poll_id)
    poll = _current(session, poll_id)
    if body.choice >= len(poll.choices):
        raise InputError("choice", f"{body.choice} is not a choice of this poll ({len(poll.choices)} choices)",
                         f"Send 0 to {len(poll.choices) - 1}.")  # fmt: skip
    classroom = _classroom(request)
    answered = await classroom.board.answer(session.code, poll_id, body.choice, digest(body.voter))
    if answered == "replaced":
        _current(replace(session, poll=None), poll_id)  # the lecturer asked another meanwhile: its 404
    if answered == "closed":
        raise HTTPException(status_code=409, detail="The poll is closed: the model's answer is shown already.")
    if answered == "again":
        raise HTTPException(status_code=409, detail="This browser has answered this poll already: one answer each.")
    return await _publish_poll(classroom, session.code, poll_id)


async def _publish_poll(classroom: Classroom, code: str, poll_id: str) -> PollOut:
    """The poll as it stands now, told to the class if it is still the current one."""
    now = await classroom.board.session(code)
    if now is None:
        raise HTTPException(status_code=404, detail="The class ended meanwhile.")
    poll = _current(now, poll_id)
    public = poll.public(now.counts)
    await classroom.board.publish(code, "poll", public)
    return PollOut(**public)


@router.post("/api/class/{code}/polls/{poll_id}/reveal", responses=ERRORS)
async def reveal(request: Request, code: Code,
                 poll_id: Annotated[str, Path(max_length=40)], secret: Secret = None) -> PollOut:  # fmt: skip
    """Show the model's answer beside the class's; the poll takes no more answers."""
    session = await _driving(request, code, secret)
    _current(session, poll_id)
    classroom = _classroom(request)
    await classroom.board.reveal(session.code, poll_id)
    return await _publish_poll(classroom, session.code, poll_id)


@router.get(
    "/api/class/{code}/events",
    response_class=EventStream,
    status_code=200,
    responses={200: {"content": {"text/event-stream": {}}, "description": "view, poll, following, status, ended"},
               **{s: as_json(r) for s, r in ERRORS.items() if s not in (400, 401, 403, 413)}},
)  # fmt: skip
async def events(request: Request, code: Code) -> EventStream:
    """The class's changes as Server-Sent Events: its view and poll at once, then every change (docs/api.md)."""
    session = await _session(request, code)
    classroom = _classroom(request)
    if sum(map(len, classroom.hub.followers.values())) >= classroom.settings.class_max_followers:
        detail = (
            f"This server streams to as many pages as it may ({classroom.settings.class_max_followers}, setting "
            "LAYERWALK_CLASS_MAX_FOLLOWERS). Retry in a few seconds."
        )
        raise HTTPException(status_code=503, detail=detail, headers={"Retry-After": "5"})
    mailbox = classroom.join(session.code)  # before the state is read: a change made between reaches the page
    try:
        now = await classroom.board.session(session.code) or session
    except StoreDownError:
        classroom.leave(session.code, mailbox)
        raise

    async def stream() -> AsyncGenerator[str]:
        yield f"retry: {RECONNECT_MS}\n\n"
        for event, data in now.events():
            yield sse(event, data)
        quiet_s = min(PING_S, classroom.settings.class_idle_s / 2)
        while True:
            try:
                pending = await asyncio.wait_for(mailbox.take(), quiet_s)
            except TimeoutError:
                if await _expired(classroom, session.code):
                    yield sse("ended", {"message": "The class expired: the lecturer has been away too long."})
                    return
                yield ": ping\n\n"
                continue
            for event, data in pending:
                if event == "closing":  # the server is stopping: the page reconnects, elsewhere if it can
                    return
                yield sse(event, data)
                if event == "ended":
                    return

    async def end() -> None:
        classroom.leave(session.code, mailbox)

    return EventStream(stream(), end)


@router.get("/join/{code}", name="join_class", include_in_schema=False, response_class=HTMLResponse)
async def join(request: Request, code: str) -> Response:
    """A student's way in: to the lecturer's view now, with the class's code for the page to follow it."""
    try:
        session = await _session(request, code)
    except HTTPException as error:
        context = {"status": error.status_code, "detail": error.detail}
        return templates.TemplateResponse(request, "error.html", context, status_code=error.status_code,
                                          headers=error.headers)  # fmt: skip
    except StoreDownError as error:
        context = {"status": 503, "detail": str(error)}
        return templates.TemplateResponse(request, "error.html", context, status_code=503,
                                          headers={"Retry-After": str(STORE_RETRY_S)})  # fmt: skip
    view = session.view or str(request.url_for("gallery").path)
    return RedirectResponse(f"{view}#class={session.code}", status_code=303)


def install(app: FastAPI) -> None:
    """The store (Redis) going away is a 503 that says so, on every route."""

    async def store_down(request: Request, error: Exception) -> Response:
        return ErrorResponse(status_code=503, content={"detail": str(error)},
                             headers={"Retry-After": str(STORE_RETRY_S)})  # fmt: skip

    app.add_exception_handler(StoreDownError, store_down)
