"""The rules one exchange can show beyond the schemas: the error envelope, CORS, how dates
and ids look, ``isCached`` against the status, and the SSE v2 framing.

Each rule is a function of a complete exchange yielding findings; a rule that cannot
look (a body not kept whole, not JSON) yields nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, Final

import orjson

from .exchange import NOT_JSON, Exchange
from .violations import Finding

Rule = Callable[[Exchange], Iterator[Finding]]

ISO_MS: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
"""How the API writes every date: ISO 8601, milliseconds, ``Z``."""
SESSION_OPERATIONS: Final = frozenset(
    {
        "create_session_v1",
        "list_sessions_v1",
        "retrieve_session_v1",
        "update_session_v1",
        "close_session_v1",
        "end_and_continue_session_v1",
    }
)
BATCH_ID: Final = re.compile(r"\d+,\d+,\d+")


def error_envelope(exchange: Exchange) -> Iterator[Finding]:
    """An error answer with a body carries the API's envelope: a JSON object with a
    string ``error``."""
    if exchange.status < 400 or exchange.response_body.size == 0 or exchange.method == "HEAD":
        return
    if not exchange.response_body.complete:
        return
    body = exchange.response_json()
    if body is NOT_JSON:
        media = exchange.response_media_type or "no Content-Type"
        yield Finding(
            "response", "error-envelope", f"a {exchange.status} whose body ({media}) is not JSON"
        )
    elif not isinstance(body, dict) or not isinstance(body.get("error"), str):
        shown = orjson.dumps(body)[:120].decode("utf-8", "replace")
        yield Finding(
            "response",
            "error-envelope",
            f'a {exchange.status} without {{"error": text}}: {shown}',
        )


def cors(exchange: Exchange) -> Iterator[Finding]:
    """A browser's request (it sends ``Origin``) gets an answer the browser may read."""
    origin = exchange.request_header("origin")
    if origin is None or exchange.status == 0:
        return
    allowed = exchange.response_header("access-control-allow-origin")
    if allowed is None:
        yield Finding("response", "cors", "no Access-Control-Allow-Origin for an Origin")
    elif allowed not in ("*", origin):
        yield Finding(
            "response", "cors", f"Access-Control-Allow-Origin {allowed!r} for Origin {origin!r}"
        )
    asked = exchange.request_header("access-control-request-method")
    if exchange.method == "OPTIONS" and asked is not None:
        methods = exchange.response_header("access-control-allow-methods") or ""
        offered = {m.strip().upper() for m in methods.split(",")}
        if "*" not in offered and asked.upper() not in offered:
            yield Finding(
                "response", "cors", f"the preflight does not allow {asked} (allows {methods!r})"
            )


def _user_data(key: str, holder: dict[str, Any]) -> bool:
    """Whether ``holder[key]`` is the caller's own JSON (a session's ``metadata``, its
    ``triggerConfig.basePayload``, a channel record's ``data``), whose keys the API's rules
    about dates and ids do not reach."""
    return key in ("metadata", "basePayload") or (key == "data" and "seqNum" in holder)


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, str, Any, dict[str, Any]]]:
    """Every ``(path, key, value, holder)`` of the objects inside ``value``, the caller's
    own data aside."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            yield where, key, item, value
            if not _user_data(key, value):
                yield from _walk(item, where)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _walk(item, f"{path}[{n}]")


def _json_answer(exchange: Exchange) -> Any:
    if exchange.response_media_type != "application/json" or exchange.method == "HEAD":
        return NOT_JSON
    return exchange.response_json()


def date_format(exchange: Exchange) -> Iterator[Finding]:
    """Every ``…At`` date in a JSON answer is ISO 8601 with milliseconds and ``Z``."""
    body = _json_answer(exchange)
    if body is NOT_JSON:
        return
    for where, key, value, _ in _walk(body):
        if key.endswith("At") and isinstance(value, str) and not ISO_MS.fullmatch(value):
            yield Finding(
                "response", "date-format", f"{where}: {value!r} is not YYYY-MM-DDTHH:MM:SS.sssZ"
            )


def id_shape(exchange: Exchange) -> Iterator[Finding]:
    """Sessions are ``session_…`` and runs ``run_…`` wherever a session row shows them."""
    if exchange.operation not in SESSION_OPERATIONS or exchange.status >= 300:
        return
    body = _json_answer(exchange)
    if body is NOT_JSON:
        return
    for where, key, value, holder in _walk(body):
        if not isinstance(value, str) or "taskIdentifier" not in holder:
            continue
        if key == "id" and not value.startswith("session_"):
            yield Finding("response", "id-shape", f"{where}: {value!r} is not a session_… id")
        elif key in ("currentRunId", "runId") and not value.startswith("run_"):
            yield Finding("response", "id-shape", f"{where}: {value!r} is not a run_… id")


def is_cached(exchange: Exchange) -> Iterator[Finding]:
    """A create answers ``201`` with ``isCached: false`` for a new session and ``200``
    with ``isCached: true`` for an open one with that ``externalId``."""
    if exchange.operation != "create_session_v1" or exchange.status not in (200, 201):
        return
    body = _json_answer(exchange)
    if not isinstance(body, dict) or "isCached" not in body:
        return  # the schema check names a missing field
    expected = exchange.status == 200
    if body["isCached"] is not expected:
        yield Finding(
            "response",
            "is-cached",
            f"{exchange.status} with isCached {orjson.dumps(body['isCached']).decode()}"
            f" (201 goes with false, 200 with true)",
        )


def sse_framing(exchange: Exchange) -> Iterator[Finding]:
    """An event stream in wire format v2: ``batch`` events whose ``id`` is
    ``seq,count,bytes`` and whose data holds ``records``, ``ping`` events, and a final
    ``data: [DONE]``."""
    if not exchange.is_event_stream or not exchange.response_body.complete:
        return
    text = exchange.response_text().decode("utf-8", "replace").replace("\r\n", "\n")
    for n, block in enumerate(b for b in text.split("\n\n") if b.strip()):
        fields: dict[str, list[str]] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields.setdefault(name, []).append(value.removeprefix(" "))
        if not fields:
            continue  # only comments (a keep-alive): no event
        data = "\n".join(fields.get("data", []))
        event = fields["event"][0] if "event" in fields else None
        problem = _v2_problem(event, data, fields["id"][0] if "id" in fields else None)
        if problem:
            yield Finding("response", "sse-framing", f"event {n}: {problem}")
            return  # one per stream: the rest usually repeats it


def _v2_problem(event: str | None, data: str, event_id: str | None) -> str | None:
    if event is None:
        if data == "[DONE]":
            return None
        return "no event type (v1 framing sends bare data lines; v2 sends event: batch)"
    if event not in ("batch", "ping", "error"):
        return f"unknown event type {event!r}"
    try:
        payload = orjson.loads(data) if data else None
    except orjson.JSONDecodeError:
        return f"{event} data that is not JSON"
    if event != "batch":
        return None
    if event_id is None or not BATCH_ID.fullmatch(event_id):
        return f"batch id {event_id!r} is not seq,count,bytes"
    records = payload.get("records") if isinstance(payload, dict) else None
    if not isinstance(records, list):
        return "batch data without a records list"
    for record in records:
        if not (
            isinstance(record, dict)
            and isinstance(record.get("seq_num"), int)
            and isinstance(record.get("body"), str)
        ):
            return "a record without seq_num and body"
    return None


RULES: Final[tuple[Rule, ...]] = (
    error_envelope,
    cors,
    date_format,
    id_shape,
    is_cached,
    sse_framing,
)
