"""The edge layer that makes requests fail on demand: the fault rule that fires on a
request (if any), then the rate limiter (if on), around the rest of the app.

With no rule that can still fire and the limiter off, a request costs one attribute test
(``FaultBook.armed``, ``RateLimiter.policy``) and passes straight on.

Order, for a request a rule fires on: its delay; then a drop, an injected ``429`` or a
status answer (the request goes no further); else the limiter; then the app, its answer
replaced (``afterStore``), sent slowly (``dribble``) or its event stream cut
(``cutAfterRecords``). The control plane (``/_mock/``) is never touched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...auth.ratelimit import RateLimiter, Verdict
from ...core.clock import Clock
from ..cors import Cors
from ..headers import header
from .answers import (
    discard,
    limit_headers,
    send_rate_limited,
    status_answer,
    with_headers,
)
from .connection import drop
from .marks import CUT_AFTER_RECORDS, FAULT_HEADER, FAULT_ID
from .rules import Action, FaultBook, FaultRule, RequestFacts


class Failures:
    def __init__(
        self,
        app: ASGIApp,
        *,
        book: FaultBook,
        limiter: RateLimiter,
        operation_of: Callable[[str, str], str | None],
        clock: Clock,
    ) -> None:
        self.app = app
        self.book = book
        self.limiter = limiter
        self.operation_of = operation_of
        self.clock = clock

    @property
    def idle(self) -> bool:
        """No rule can still fire and the limiter is off: requests pass untouched."""
        return not self.book.armed and self.limiter.policy is None

    def spend(self, scope: Scope) -> Verdict | None:
        """The limiter's verdict on a request, one request spent (``None``: not limited,
        the control plane included). The edge's direct route asks this when no rule can
        fire; this layer, after a rule's own answer."""
        path = _path_of(scope)
        if path.startswith("/_mock/"):
            return None
        return self.limiter.check(scope["method"], path, header(scope, b"authorization"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.idle or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = _path_of(scope)
        if path.startswith("/_mock/"):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        authorization = header(scope, b"authorization")
        rule = None
        if self.book.armed:
            facts = RequestFacts(method, path, authorization, self.operation_of)
            rule = self.book.pick(facts)
        if rule is not None:
            scope[FAULT_ID] = rule.id
            if _changes_answer(rule.action):
                send = with_headers(send, [(FAULT_HEADER, rule.id.encode())])
            if await self._before(rule, scope, receive, send, authorization):
                return
        verdict = self.limiter.check(method, path, authorization)
        if verdict is not None:
            if not verdict.success:
                await send_rate_limited(send, verdict, self.clock.now_ms())
                return
            send = with_headers(send, limit_headers(verdict))
        if rule is None:
            await self.app(scope, receive, send)
        else:
            await self._around(rule.action, scope, receive, send)

    async def _before(
        self, rule: FaultRule, scope: Scope, receive: Receive, send: Send, auth: str | None
    ) -> bool:
        """The delay, and an answer that stops the request here (True if one was sent)."""
        action = rule.action
        if action.delay is not None:
            await asyncio.sleep(action.delay.sample(rule.rng) / 1000)
        if action.drop is not None:
            await drop(action.drop, scope, receive)
            return True
        if action.rate_limit_reset_s is not None:
            now = self.clock.now_ms()
            limit, kind = self.limiter.deployed_limit_for(auth)
            verdict = Verdict(
                success=False,
                limit=action.rate_limit_limit or limit,
                remaining=-1 if kind == "tokenBucket" else 0,  # as each algorithm refuses
                reset_ms=now + round(action.rate_limit_reset_s * 1000),
                kind=kind,
            )
            await send_rate_limited(send, verdict, now)
            return True
        if action.status is not None and not action.after_store:
            await _answer(action, scope, receive, send)
            return True
        return False

    async def _around(self, action: Action, scope: Scope, receive: Receive, send: Send) -> None:
        """The app's own answer, changed as the action says."""
        if action.after_store:
            await self.app(scope, receive, discard)
            await _answer(action, scope, receive, send)
            return
        if action.cut_after_records is not None:
            scope[CUT_AFTER_RECORDS] = action.cut_after_records
        if action.dribble is not None:
            chunks, total_ms = action.dribble
            send = _dribbling(send, chunks, total_ms / 1000)
        await self.app(scope, receive, send)


def _changes_answer(action: Action) -> bool:
    """Whether the answer is the rule's rather than the API's (a delay or a slow send
    leaves the API's answer as it is; a drop sends none)."""
    return (
        action.status is not None
        or action.rate_limit_reset_s is not None
        or action.cut_after_records is not None
    )


async def _answer(action: Action, scope: Scope, receive: Receive, send: Send) -> None:
    """A status answer, with CORS as the API's own answers have it (a browser can read
    it)."""
    status, headers, body = status_answer(action)

    async def respond(_scope: Scope, _receive: Receive, sending: Send) -> None:
        await sending({"type": "http.response.start", "status": status, "headers": headers})
        await sending({"type": "http.response.body", "body": body})

    await Cors(respond)(scope, receive, send)


def _dribbling(send: Send, chunks: int, total_seconds: float) -> Send:
    """``send``, holding the answer back and then sending its body in ``chunks`` pieces
    spread over ``total_seconds`` (a streamed answer: each of its parts, slowly)."""
    start: Message | None = None

    async def sending(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
            return
        if message["type"] != "http.response.body":
            await send(message)
            return
        if start is not None:
            await send(start)
            start = None
        body: bytes = message.get("body", b"")
        more = message.get("more_body", False)
        size = max(1, -(-len(body) // chunks)) if body else 0
        pieces = [body[i : i + size] for i in range(0, len(body), size)] if body else [b""]
        pause = total_seconds / max(1, len(pieces))
        for n, piece in enumerate(pieces):
            await asyncio.sleep(pause)
            last = n == len(pieces) - 1
            await send({"type": "http.response.body", "body": piece, "more_body": more or not last})

    return sending


def _path_of(scope: Scope) -> str:
    """The request's path as sent, without its query."""
    raw: bytes = scope.get("raw_path") or scope["path"].encode()
    return raw.split(b"?", 1)[0].decode("latin-1")
