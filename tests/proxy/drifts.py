"""Deliberately broken upstreams: the real fake, in-process, with its answers changed in one
named way each, for the proxy to catch.

:func:`drifting` wraps ``create_app`` in :class:`DriftingUpstream`, which reads the whole
request, lets the drift change it (an upstream that lets through what it should refuse),
runs the fake, reads the whole answer, lets the drift change that, and sends it on. It
keeps every answer it sent, so a test can compare what came through the proxy with what the
upstream said. Kind ``honest`` changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.app import create_app
from mock_server.core.settings import Settings

RawHeaders = list[tuple[bytes, bytes]]
SESSIONS: Final = "/api/v1/sessions"
MS_DATE: Final = re.compile(rb'("[A-Za-z]*At":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.\d{3}Z"')


@dataclass
class Sent:
    """A request as the upstream read it."""

    method: str
    path: str
    headers: RawHeaders
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        return next((v for k, v in self.headers if k.lower() == name), None)


@dataclass
class Answer:
    """An answer as the upstream sends it."""

    status: int
    headers: RawHeaders
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        return next((v for k, v in self.headers if k.lower() == name), None)

    @property
    def is_json(self) -> bool:
        return (self.header(b"content-type") or b"").startswith(b"application/json")

    def set_header(self, name: bytes, value: bytes | None) -> None:
        """Replace ``name`` (or drop it, with ``None``), keeping the other headers' order."""
        kept = [(k, v) for k, v in self.headers if k.lower() != name]
        self.headers = kept if value is None else [*kept, (name, value)]


def _keep(sent: Sent) -> None:
    """Leave the request as it came."""


def _same(sent: Sent, answer: Answer) -> None:
    """Leave the answer as the fake gave it."""


# --- answers that drift ---------------------------------------------------------------


def _error_shape(sent: Sent, answer: Answer) -> None:
    """An error body as ``{"message": …}``, without the ``error`` envelope."""
    if answer.status >= 400 and answer.is_json:
        error = orjson.loads(answer.body).get("error")
        answer.body = orjson.dumps({"message": error})


def _missing_cors(sent: Sent, answer: Answer) -> None:
    """No ``Access-Control-*`` header on any answer."""
    answer.headers = [(k, v) for k, v in answer.headers if not k.startswith(b"access-control-")]


def _date_format(sent: Sent, answer: Answer) -> None:
    """Every ``…At`` date without its milliseconds (``…:28Z``)."""
    if answer.is_json:
        answer.body = MS_DATE.sub(rb'\1Z"', answer.body)


def _cached_create_status(sent: Sent, answer: Answer) -> None:
    """A create finding an open session answers ``201`` (its body still says
    ``isCached: true``)."""
    if sent.method == "POST" and sent.path == SESSIONS and answer.status == 200:
        answer.status = 201


def _sse_v1(sent: Sent, answer: Answer) -> None:
    """Each record as a bare ``data:`` line with ``id: <seq>``, as wire format v1 sends."""
    if not (answer.header(b"content-type") or b"").startswith(b"text/event-stream"):
        return
    events = []
    for line in answer.body.split(b"\n"):
        if line.startswith(b"data: {"):
            for record in orjson.loads(line[6:]).get("records", []):
                events.append(
                    b"id: %d\ndata: %s\n\n" % (record["seq_num"], record["body"].encode())
                )
    answer.body = b"".join(events)


def _id_shape(sent: Sent, answer: Answer) -> None:
    """Session ids as ``sess_…``."""
    if answer.is_json:
        answer.body = answer.body.replace(b'"session_', b'"sess_')


def _undocumented_status(sent: Sent, answer: Answer) -> None:
    """A retrieve answered ``418``, a status the operation does not list."""
    if sent.method == "GET" and sent.path.startswith(SESSIONS + "/"):
        answer.status = 418
        answer.body = orjson.dumps({"error": "I'm a teapot"})


def _missing_field(sent: Sent, answer: Answer) -> None:
    """A create's answer without ``isCached``."""
    if sent.method == "POST" and sent.path == SESSIONS and answer.status in (200, 201):
        created = orjson.loads(answer.body)
        del created["isCached"]
        answer.body = orjson.dumps(created)


def _wrong_content_type(sent: Sent, answer: Answer) -> None:
    """A successful JSON answer labelled ``text/plain``."""
    if answer.is_json and answer.status < 300:
        answer.set_header(b"content-type", b"text/plain; charset=utf-8")


def _not_json(sent: Sent, answer: Answer) -> None:
    """A successful ``application/json`` answer whose body does not parse."""
    if answer.is_json and answer.status < 300:
        answer.body = answer.body[:-1]  # the closing brace gone


def _missing_header(sent: Sent, answer: Answer) -> None:
    """No ``X-Stream-Version`` on a stream, no ``X-S2-Access-Token`` on an initialize."""
    answer.set_header(b"x-stream-version", None)
    answer.set_header(b"x-s2-access-token", None)


def _wrong_preflight(sent: Sent, answer: Answer) -> None:
    """A preflight that allows only ``GET`` and ``HEAD``, whatever was asked."""
    if sent.method == "OPTIONS":
        answer.set_header(b"access-control-allow-methods", b"GET,HEAD")


def _undocumented_route(sent: Sent, answer: Answer) -> None:
    """``/api/v1/teapots``, which the contract does not have, answered ``200``."""
    if answer.status == 404 and sent.path.startswith("/api/v1/teapots"):
        answer.status = 200
        answer.body = orjson.dumps({"data": []})


def _too_large_413(sent: Sent, answer: Answer) -> None:
    """A body over its limit answered ``413`` (the deployed server's reading) by a fake
    that otherwise follows the docs (``422``)."""
    too_large = (
        answer.is_json and orjson.loads(answer.body).get("error") == "Request body too large"
    )
    if answer.status == 422 and too_large:
        answer.status = 413


# --- requests let through -------------------------------------------------------------


def _fill_create(sent: Sent) -> None:
    """A create missing ``triggerConfig`` (or its whole body) gets one before the fake
    reads it, so an invalid create is answered ``201``."""
    if sent.method != "POST" or sent.path != SESSIONS:
        return
    body = orjson.loads(sent.body) if sent.body else {}
    if not sent.body:
        body = {"type": "chat.agent", "taskIdentifier": "filled-in"}
        sent.headers = [(k, v) for k, v in sent.headers if k.lower() != b"content-type"]
        sent.headers.append((b"content-type", b"application/json"))
    body.setdefault("triggerConfig", {"basePayload": {}})
    sent.body = orjson.dumps(body)


def _lend_credentials(sent: Sent) -> None:
    """A request without ``Authorization`` gets a key, so it is answered."""
    if sent.header(b"authorization") is None:
        sent.headers.append((b"authorization", b"Bearer tr_dev_lent"))


def _any_io(sent: Sent) -> None:
    """A channel named anything but ``in``/``out`` is taken as ``out``."""
    parts = sent.path.split("/")
    if sent.path.startswith("/realtime/") and len(parts) > 5 and parts[5] not in ("in", "out"):
        parts[5] = "out"
        sent.path = "/".join(parts)


@dataclass(frozen=True)
class Drift:
    before: Callable[[Sent], None] = _keep
    after: Callable[[Sent, Answer], None] = _same


DRIFTS: Final[dict[str, Drift]] = {
    "honest": Drift(),
    "error-shape": Drift(after=_error_shape),
    "missing-cors": Drift(after=_missing_cors),
    "date-format": Drift(after=_date_format),
    "cached-create-status": Drift(after=_cached_create_status),
    "sse-v1": Drift(after=_sse_v1),
    "id-shape": Drift(after=_id_shape),
    "undocumented-status": Drift(after=_undocumented_status),
    "missing-field": Drift(after=_missing_field),
    "wrong-content-type": Drift(after=_wrong_content_type),
    "not-json": Drift(after=_not_json),
    "missing-header": Drift(after=_missing_header),
    "wrong-preflight": Drift(after=_wrong_preflight),
    "undocumented-route": Drift(after=_undocumented_route),
    "too-large-413": Drift(after=_too_large_413),
    "accepts-invalid": Drift(before=_fill_create),
    "accepts-empty": Drift(before=_fill_create),
    "accepts-anonymous": Drift(before=_lend_credentials),
    "accepts-bad-parameter": Drift(before=_any_io),
}
"""Each kind of drift by name (``honest`` is none)."""


@dataclass
class DriftingUpstream:
    """The fake behind one :class:`Drift`, keeping every answer it sent."""

    app: ASGIApp
    drift: Drift
    answers: list[Answer] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await _read(receive)
        sent = Sent(scope["method"], scope["path"], list(scope["headers"]), body)
        self.drift.before(sent)
        if sent.body != body:
            sent.headers = [(k, v) for k, v in sent.headers if k.lower() != b"content-length"]
            sent.headers.append((b"content-length", str(len(sent.body)).encode()))
        inner = {**scope, "headers": sent.headers}
        if sent.path != scope["path"]:
            inner.update(path=sent.path, raw_path=sent.path.encode())
        answer = Answer(0, [], b"")
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": sent.body, "more_body": False}
            return await receive()

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer.status = message["status"]
                answer.headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                answer.body += message.get("body", b"")

        await self.app(inner, replay, keep)
        self.drift.after(sent, answer)
        if answer.header(b"content-length") is not None:
            answer.set_header(b"content-length", str(len(answer.body)).encode())
        self.answers.append(answer)
        await send(
            {"type": "http.response.start", "status": answer.status, "headers": answer.headers}
        )
        await send({"type": "http.response.body", "body": answer.body})


async def _read(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        chunk: bytes = message.get("body", b"")
        body += chunk
        if not message.get("more_body", False):
            return body


def drifting(kind: str, settings: Settings | None = None) -> DriftingUpstream:
    """The fake (``create_app(settings)``, in-process) drifting from the spec as ``kind``
    says; a ``KeyError`` for a kind not in :data:`DRIFTS`."""
    return DriftingUpstream(create_app(settings or Settings()), DRIFTS[kind])
