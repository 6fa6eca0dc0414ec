"""The HTTP/1.1 protocol the CLI serves with: uvicorn's httptools protocol, except that

- requests it cannot even parse (bytes that are not HTTP, non-ASCII request targets, a
  non-numeric ``Content-Length``) are answered in the API's error shape too;
- a response's head and body leave in one write (:mod:`.coalescing`);
- each request's scope state carries its connection (``trigger_mock.connection``), so injected
  faults can reset, close or cut it (:mod:`mock_server.http.failures.connection`);
- with :func:`protocol_class`, connections are bounded (:mod:`.connection_bounds`): how many
  are open at once, how long one may take to send a request's header (uvicorn waits
  forever once a byte has come, and from the start on a new connection), and how long an
  idle one is kept, each read from the fake's ``Limits`` when it applies;
- a connection that opens with the HTTP/2 preface is handed to :mod:`.handover` (the S2
  writer's prior-knowledge HTTP/2), still counted among the open connections."""

from __future__ import annotations

import asyncio
from asyncio import TimerHandle
from typing import Any, ClassVar

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from ..core.jsoncodec import dump_json
from ..core.limits import BoundCounts, Limits
from ..http.failures.connection import CONNECTION_KEY, Connection
from ..http.responses import JSON_TYPE
from .coalescing import CoalescingTransport
from .connection_bounds import MAX_HEADER_BYTES, MAX_HEADERS, ConnectionGuard
from .handover import Http2Handover, opens_http2


class _HeaderTooLarge(Exception):
    """Raised from a parser callback to stop reading a request whose header is too big."""


class JsonErrorsHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # A response's head and body leave in one write (.coalescing).
        transport = CoalescingTransport(transport, self.loop)  # type: ignore[assignment]
        super().connection_made(transport)
        # uvicorn copies this dict into each request's scope["state"]: the connection rides
        # along at no cost per request.
        self.app_state = {**self.app_state, CONNECTION_KEY: Connection(transport)}

    def send_400_response(self, msg: str) -> None:
        self.send_json_error(400, msg)

    def send_json_error(self, status: int, msg: str) -> None:
        """Answer ``{"error": msg}`` with ``status`` outside any request cycle, and close."""
        body = dump_json({"error": msg})
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: " + JSON_TYPE.encode() + b"\r\n",
                b"content-length: " + str(len(body)).encode() + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()


class BoundedHttpToolsProtocol(JsonErrorsHttpToolsProtocol):
    """The protocol with the connection bounds; :func:`protocol_class` makes the concrete
    class, holding one server's :class:`ConnectionGuard`.

    The header deadline runs while the connection waits for a request's header: from the
    moment it opens, and again from each answer that leaves nothing queued behind it. It
    stops when a header is complete, so a request in flight (a long SSE read) is never
    cut. When it passes:

    - with part of a header received, or on a connection that never sent a request, the
      answer is a ``408`` in the API's error shape and the connection closes;
    - on a keep-alive connection with nothing of the next request yet, it is idle, and
      uvicorn's keep-alive timer (``keep_alive_timeout``) closes it; a request starting
      later gets a full deadline of its own from its first byte.
    """

    guard: ClassVar[ConnectionGuard]
    http2: ClassVar[Http2Handover | None] = None

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._admitted = False
        self._awaiting_header = False
        self._header_begun = False
        self._header_timer: TimerHandle | None = None
        self._header_bytes = 0
        self._header_too_large = False
        self._sniffing = True
        self._first = b""

    # uvicorn arms its keep-alive timer with this attribute; read at that moment, the
    # Limits value in force applies (uvicorn's start-up value is not used).
    @property  # type: ignore[override]
    def timeout_keep_alive(self) -> float:
        return self.guard.keep_alive_timeout

    @timeout_keep_alive.setter
    def timeout_keep_alive(self, value: float) -> None:
        pass

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not self.guard.admit():
            Connection(transport).reset()
            return
        self._admitted = True
        self._wait_for_header()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        if self._admitted:
            self._admitted = False
            self.guard.release()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._sniffing:
            data = self._sniff(data)
            if not data:
                return
        if self._awaiting_header and self._header_timer is None:
            self._start_header_timer()  # the deadline passed while the connection idled
        super().data_received(data)

    def _sniff(self, data: bytes) -> bytes:
        """The connection's first bytes: what HTTP/1.1 is to read of them, nothing if
        they are kept until there are enough to tell, or were handed over to HTTP/2."""
        first = self._first + data if self._first else data
        verdict = False if self.http2 is None else opens_http2(first)
        if verdict is None:
            self._first = first
            return b""
        self._sniffing = False
        self._first = b""
        if not verdict:
            return first
        self._hand_over(first)
        return b""

    def _hand_over(self, first: bytes) -> None:
        assert self.http2 is not None
        self._stop_header_timer()
        self._awaiting_header = False
        self.connections.discard(self)
        admitted, self._admitted = self._admitted, False
        # The state without this protocol's connection: its drops write HTTP/1.1 bytes;
        # without it, an injected drop breaks the HTTP/2 stream instead.
        state = {key: value for key, value in self.app_state.items() if key != CONNECTION_KEY}
        transport = self.transport
        self.http2.take(
            transport.raw if isinstance(transport, CoalescingTransport) else transport,
            first,
            state=state,
            connections=self.connections,
            tasks=self.tasks,
            on_closed=self.guard.release if admitted else _nothing,
        )

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_begun = True
        self._header_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._count_header(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_header(len(name) + len(value) + 4)
        if len(self.headers) >= MAX_HEADERS:
            self._refuse_header()
        super().on_header(name, value)

    def _count_header(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > MAX_HEADER_BYTES:
            self._refuse_header()

    def _refuse_header(self) -> None:
        # httptools turns this into a parse error, which uvicorn answers through
        # send_400_response (below), having stopped reading.
        self._header_too_large = True
        raise _HeaderTooLarge()

    def send_400_response(self, msg: str) -> None:
        if not self._header_too_large:
            super().send_400_response(msg)
            return
        self._stop_header_timer()
        self.guard.header_too_large()
        self.send_json_error(
            431,
            f"Request header too large: at most {MAX_HEADER_BYTES} bytes of request target "
            f"and headers, in at most {MAX_HEADERS} lines",
        )

    def on_headers_complete(self) -> None:
        self._awaiting_header = self._header_begun = False
        self._stop_header_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        nothing_queued = not self.pipeline
        super().on_response_complete()
        if nothing_queued and not self.transport.is_closing():
            self._wait_for_header()

    def handle_websocket_upgrade(self) -> None:
        # The WebSocket protocol takes the transport over, and this one hears no more of it.
        self._stop_header_timer()
        if self._admitted:
            self._admitted = False
            self.guard.release()
        super().handle_websocket_upgrade()

    def timeout_keep_alive_handler(self) -> None:
        if not self.transport.is_closing():
            self.guard.idle_closed()
        super().timeout_keep_alive_handler()

    def _wait_for_header(self) -> None:
        self._awaiting_header = True
        self._stop_header_timer()
        self._start_header_timer()

    def _start_header_timer(self) -> None:
        self._header_timer = self.loop.call_later(self.guard.header_timeout, self._header_late)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_late(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or not self._awaiting_header:
            return
        first_request = self.cycle is None
        if not (first_request or self._header_begun):
            if self.timeout_keep_alive_task is not None:
                return  # idle: the keep-alive timer has it
            # Bytes came that began no request (the rest of a body answered early, stray
            # line ends): nothing to answer, and no reason to wait on.
            self.guard.header_timed_out()
            self.transport.close()
            return
        self.guard.header_timed_out()
        seconds = self.guard.header_timeout
        self.send_json_error(
            408, f"Request header timeout: no complete request header within {seconds:g} s"
        )


def _nothing() -> None:
    pass


def protocol_class(
    limits: Limits, bounds: BoundCounts, http2: Http2Handover | None = None
) -> type[BoundedHttpToolsProtocol]:
    """The protocol class for one server, bounded by ``limits`` and counting in ``bounds``
    (both shared with the app's state, so the control plane sees and changes them); with
    ``http2``, connections that open with the HTTP/2 preface go there."""
    made, handed_to = ConnectionGuard(limits, bounds), http2

    class ServerProtocol(BoundedHttpToolsProtocol):
        guard = made
        http2 = handed_to

    return ServerProtocol
