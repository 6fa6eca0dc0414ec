"""Forwarding: each request goes to the upstream as it came (method, raw path, query,
headers but the hop-by-hop ones, body), and the upstream's answer comes back as it was
sent. The proxy adds one header, ``x-trigger-mock-violations``, and changes nothing else.

Bodies that announce a length within :data:`BUFFER_LIMIT` are read whole before they go
on: the request so ``--strict`` can refuse it, the answer so the count in the header is
the whole count. Everything else (an event stream, a chunked writer's request) streams
through chunk by chunk; its header counts what the head alone showed, and the rest of its
violations are listed once the stream ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Final

import httpx
import orjson
from starlette.types import Message, Receive, Scope, Send

from ..core.clock import Clock
from .checker import ExchangeChecker, Verdict
from .exchange import BODY_KEEP, Body, Exchange
from .violations import Finding

VIOLATIONS_HEADER: Final = b"x-trigger-mock-violations"
BUFFER_LIMIT: Final = BODY_KEEP
HOP_BY_HOP: Final = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
     "transfer-encoding", "upgrade", "proxy-connection"}
)  # fmt: skip


def _forwardable(
    headers: list[tuple[bytes, bytes]], *, drop: tuple[bytes, ...] = ()
) -> list[tuple[bytes, bytes]]:
    named: set[bytes] = set()
    for key, value in headers:
        if key.lower() == b"connection":
            named |= {part.strip().lower() for part in value.split(b",")}
    return [
        (key, value)
        for key, value in headers
        if key.lower().decode("latin-1") not in HOP_BY_HOP
        and key.lower() not in named
        and key.lower() not in drop
    ]


@dataclass
class Finished:
    """What the forwarder hands on once an exchange is over."""

    exchange: Exchange
    verdict: Verdict


_TIMEOUT: Final = httpx.Timeout(connect=10.0, read=None, write=60.0, pool=10.0).as_dict()
"""Connecting, writing a request and waiting for a pooled connection are bounded; reading
is not (an event stream may wait long for its next record)."""


class Forwarder:
    """The proxy's ASGI app for everything that is not its own control plane."""

    def __init__(
        self,
        upstream: str,
        checker: ExchangeChecker,
        *,
        clock: Clock,
        on_finished: Callable[[Finished], None],
        strict: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.checker = checker
        self.clock = clock
        self.on_finished = on_finished
        """Records the exchange (journal, violations, recording); returns how many
        violations it had."""
        self.strict = strict
        # The transport itself, not an httpx client around it: a proxy wants none of the
        # client's cookies, redirects, default headers or hooks, and they cost about a
        # tenth of a millisecond a request (bench/proxy_overhead.py).
        self.transport = transport or httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=100),
        )
        self._serial = 0

    async def aclose(self) -> None:
        await self.transport.aclose()

    def _exchange(self, scope: Scope) -> Exchange:
        self._serial += 1
        raw_path = scope.get("raw_path") or scope["path"].encode()
        path = raw_path.decode("latin-1").split("?", 1)[0]
        return Exchange(
            number=self._serial,
            at_ms=self.clock.now_ms(),
            method=scope["method"],
            path=path,
            query=scope.get("query_string", b"").decode("latin-1"),
            request_headers=[
                (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]
            ],
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = self._exchange(scope)
        self.checker.name(exchange)
        started = time.perf_counter()
        verdict = Verdict()
        try:
            length = _content_length(scope)
            buffered = length is not None and length <= BUFFER_LIMIT
            content: bytes | AsyncIterator[bytes]
            if buffered:
                content = await _read_all(receive, exchange.request_body)
                if self.strict and (found := self.checker.request_findings(exchange)):
                    verdict = await self._refuse(exchange, found, send)
                    return
            else:
                content = _stream_request(receive, exchange.request_body)
            verdict = await self._forward(scope, receive, send, exchange, content, buffered)
        finally:
            exchange.latency_ms = (time.perf_counter() - started) * 1000
            self.on_finished(Finished(exchange, verdict))

    async def _refuse(self, exchange: Exchange, found: list[Finding], send: Send) -> Verdict:
        body = orjson.dumps(
            {
                "error": "trigger-mock proxy (--strict): the request breaks the contract, "
                "so it was not forwarded",
                "violations": [{"rule": f.rule, "message": f.message} for f in found],
            }
        )
        headers = [
            (b"content-type", b"application/json; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (VIOLATIONS_HEADER, str(len(found)).encode()),
        ]
        exchange.local = True
        exchange.status = 422
        exchange.response_headers = [(k.decode(), v.decode()) for k, v in headers]
        exchange.response_body.add(body)
        await send({"type": "http.response.start", "status": 422, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return Verdict(violations=found)

    async def _forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        exchange: Exchange,
        content: bytes | AsyncIterator[bytes],
        buffered: bool,
    ) -> Verdict:
        url = self.upstream + exchange.path + (f"?{exchange.query}" if exchange.query else "")
        # A Content-Length goes on as it came, streamed body or not (httpx then sends the
        # body with that length, not chunked); Host names the upstream.
        headers = _forwardable(list(scope["headers"]), drop=(b"host",))
        try:
            request = httpx.Request(
                exchange.method,
                httpx.URL(url),
                headers=headers,
                content=content,
                extensions={"timeout": _TIMEOUT},
            )
            response = await self.transport.handle_async_request(request)
        except httpx.HTTPError as exc:
            exchange.upstream_error = f"{type(exc).__name__}: {exc}"
            await _bad_gateway(send, self.upstream, exchange.upstream_error)
            return Verdict(left_alone="upstream-error")
        try:
            exchange.status = response.status_code
            raw_headers = _forwardable(list(response.headers.raw))
            exchange.response_headers = [
                (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw_headers
            ]
            streaming = _streams(exchange, response)
            if not streaming:
                async for chunk in response.aiter_raw():
                    exchange.response_body.add(chunk)
                verdict = self.checker.check(exchange)
                count = len(verdict.violations) if self.checker.concerns(exchange) else None
                await _start(send, exchange.status, raw_headers, count)
                await send({"type": "http.response.body", "body": exchange.response_body.bytes()})
                return verdict
            early = self.checker.check(exchange)  # the head alone, body not yet seen
            count = len(early.violations) if self.checker.concerns(exchange) else None
            await _start(send, exchange.status, raw_headers, count)
            # A request still streaming owns ``receive``; only a read one leaves it free to
            # watch for the client leaving.
            watch = receive if buffered else None
            await self._pass_stream(watch, send, response, exchange.response_body)
            return self.checker.check(exchange)
        except httpx.HTTPError as exc:
            exchange.upstream_error = f"{type(exc).__name__}: {exc}"
            return Verdict(left_alone="upstream-error")
        finally:
            await response.aclose()

    async def _pass_stream(
        self, receive: Receive | None, send: Send, response: httpx.Response, body: Body
    ) -> None:
        """Each chunk on as it comes, until the upstream ends or the client leaves."""
        gone = asyncio.Event()

        async def watch() -> None:
            if receive is None:
                return
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        try:
            chunks = response.aiter_raw()
            while not gone.is_set():
                next_chunk = asyncio.ensure_future(anext(chunks, None))
                left = asyncio.ensure_future(gone.wait())
                done, _ = await asyncio.wait(
                    {next_chunk, left}, return_when=asyncio.FIRST_COMPLETED
                )
                if next_chunk not in done:
                    next_chunk.cancel()
                    break
                left.cancel()
                chunk = next_chunk.result()
                if chunk is None:
                    await send({"type": "http.response.body", "body": b""})
                    return
                body.add(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


def _streams(exchange: Exchange, response: httpx.Response) -> bool:
    if exchange.is_event_stream:
        return True
    length = response.headers.get("content-length")
    return length is None or not length.isdigit() or int(length) > BUFFER_LIMIT


def _content_length(scope: Scope) -> int | None:
    chunked = False
    length = None
    for key, value in scope["headers"]:
        if key == b"content-length" and value.isdigit():
            length = int(value)
        elif key == b"transfer-encoding":
            chunked = True
    if length is None and not chunked:
        return 0  # no body at all
    return None if chunked else length


async def _read_all(receive: Receive, body: Body) -> bytes:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        body.add(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return body.bytes()


async def _stream_request(receive: Receive, body: Body) -> AsyncIterator[bytes]:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk = message.get("body", b"")
        body.add(chunk)
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def _start(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], count: int | None
) -> None:
    """The answer's head, with the violation count for an exchange the proxy checks."""
    if count is not None:
        headers = [*headers, (VIOLATIONS_HEADER, str(count).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})


async def _bad_gateway(send: Send, upstream: str, why: str) -> None:
    body = orjson.dumps({"error": f"trigger-mock proxy: no answer from {upstream}: {why}"})
    await send(
        {
            "type": "http.response.start",
            "status": 502,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"x-trigger-mock-proxy-error", b"upstream"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
