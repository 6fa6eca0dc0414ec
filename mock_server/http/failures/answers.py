"""The answers failures send instead of the API's: a fault's status answer, and the
deployed rate limiter's ``429`` with its ``x-ratelimit-*`` headers."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from starlette.types import Message, Send

from ...auth.ratelimit import Verdict
from ...core.jsoncodec import dump_json, js_number, js_number_text
from ..responses import JSON_TYPE, STATUS_DOCS, send_problem
from .rules import NO_BODY_STATUSES, Action


def limit_headers(verdict: Verdict) -> list[tuple[bytes, bytes]]:
    """The three headers every limited response carries."""
    return [
        (b"x-ratelimit-limit", str(verdict.limit).encode()),
        (b"x-ratelimit-remaining", str(verdict.header_remaining).encode()),
        (b"x-ratelimit-reset", str(verdict.reset_ms).encode()),
    ]


def rate_limited_problem(verdict: Verdict, now_ms: int) -> dict[str, Any]:
    """The deployed server's 429 body."""
    seconds = js_number(verdict.seconds_until_reset(now_ms))
    message = (
        f"Rate limit exceeded {verdict.header_remaining}/{verdict.limit} requests remaining. "
        f"Retry in {js_number_text(seconds)} seconds."
    )
    return {
        "title": "Rate Limit Exceeded",
        "status": 429,
        "type": f"{STATUS_DOCS}429",
        "detail": message,
        "reset": verdict.reset_ms,
        "limit": verdict.limit,
        "remaining": verdict.remaining,
        "secondsUntilReset": seconds,
        "error": message,
    }


async def send_rate_limited(send: Send, verdict: Verdict, now_ms: int) -> None:
    """The refusal, exactly as deployed: no CORS headers, no ``retry-after``."""
    await send_problem(send, 429, rate_limited_problem(verdict, now_ms), limit_headers(verdict))


def status_answer(action: Action) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """A fault's ``status`` answer: its body (by default the API's error shape for the
    status) and headers."""
    assert action.status is not None
    status = action.status
    given = {name: value for name, value in action.headers}
    content_type = given.get("content-type", JSON_TYPE)
    if status in NO_BODY_STATUSES:
        body = b""
    elif not action.has_body:
        body = dump_json({"error": _phrase(status)}) if status >= 400 else b"{}"
    elif isinstance(action.body, str) and "json" not in content_type:
        body = action.body.encode()
    else:
        body = dump_json(action.body)
    headers = [(b"content-type", content_type.encode())] if body else []
    headers += [(k.encode(), v.encode("latin-1", "replace")) for k, v in action.headers
                if k not in ("content-type", "content-length")]  # fmt: skip
    if status not in NO_BODY_STATUSES:
        headers.append((b"content-length", str(len(body)).encode()))
    return status, headers, body


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"Error {status}"


def with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    """``send``, adding ``extra`` to the response's headers."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *extra]}
        await send(message)

    return sending


async def discard(message: Message) -> None:
    """A ``send`` that swallows the answer (``afterStore``: the fault answers instead)."""
