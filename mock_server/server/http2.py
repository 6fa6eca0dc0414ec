"""HTTP/2 in cleartext on the API's own port.

The SDK's S2 writer on Node opens its connection with the HTTP/2 preface (prior knowledge,
no upgrade), which uvicorn cannot speak. The HTTP/1.1 protocol (:mod:`.protocol`) looks
at a connection's first bytes (:mod:`.handover`): when they are the preface it hands the
connection over to :class:`Http2Connections` (made, and this module imported, with the
first such connection), which runs hypercorn's connection handling on it, with the same
app. Everything else stays with uvicorn, so the HTTP/1.1 path pays one flag test per read.

A handed-over connection still counts against ``--max-connections`` until it closes, and
is stopped with uvicorn's own: it stays in uvicorn's set of open connections through a
stand-in whose ``shutdown`` asks hypercorn to finish (idle connections close at once,
busy ones after their streams end), and its task is among uvicorn's, cancelled when the
graceful shutdown's time is up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import h2.events
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.asyncio.worker_context import WorkerContext
from hypercorn.config import Config
from hypercorn.events import Closed
from hypercorn.events import Event as HypercornEvent
from hypercorn.protocol.events import EndBody, EndData, StreamClosed
from hypercorn.protocol.events import Event as StreamEvent
from hypercorn.protocol.h2 import H2Protocol
from hypercorn.typing import AppWrapper, LifespanState
from hypercorn.utils import wrap_app
from starlette.types import ASGIApp

from ..core.limits import Limits


class _LiveConfig(Config):
    """hypercorn's settings, its keep-alive timeout read from the fake's ``Limits`` each
    time it is armed: from a connection's start, and after each stream, until the next
    one opens. So it also bounds a connection that sends the preface and then nothing;
    an open stream (the SDK's append session) stops it."""

    def __init__(self, limits: Limits) -> None:
        super().__init__()
        self._limits = limits

    @property
    def keep_alive_timeout(self) -> float:
        return self._limits.keep_alive_timeout

    @keep_alive_timeout.setter
    def keep_alive_timeout(self, value: float) -> None:
        pass


class _H2Protocol(H2Protocol):
    """hypercorn's HTTP/2, except that request data for a stream already answered is
    dropped (its bytes still credited back to the connection's flow-control window).
    hypercorn forgets a stream once its answer is complete; data for it coming after (the
    app answered without reading the whole body: an early 401, a PUT whose empty body
    comes in a DATA frame of its own, as httpx sends it) raised a ``KeyError`` that ended
    the connection and every stream on it (hypercorn issue #329, still so in 0.18)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ends: dict[int, asyncio.Event] = {}
        """Streams whose last body chunk is still to go out, each with what is set once its
        end (END_STREAM) has been written, or the connection has closed."""

    async def stream_send(self, event: StreamEvent) -> None:
        # hypercorn's send task sets a stream's buffer empty when it takes the last chunk,
        # which releases the stream's own task before that chunk and its END_STREAM are
        # written. The stream's task then reports the stream closed; on a server that is
        # stopping, that sends GOAWAY, and hypercorn can no longer end the stream: the
        # client sees its response cut off (httpcore: ConnectionTerminated). So the close
        # waits for the end to be written (or the connection to go).
        if isinstance(event, EndBody | EndData) and event.stream_id in self.stream_buffers:
            self._ends[event.stream_id] = asyncio.Event()
        elif isinstance(event, StreamClosed):
            written = self._ends.get(event.stream_id)
            if written is not None and not self.closed:
                await written.wait()
        await super().stream_send(event)

    async def _send_data(self, stream_id: int) -> None:
        await super()._send_data(stream_id)
        if stream_id not in self.stream_buffers:  # its end is written, or it was dropped
            written = self._ends.pop(stream_id, None)
            if written is not None:
                written.set()

    async def handle(self, event: HypercornEvent) -> None:
        await super().handle(event)
        if isinstance(event, Closed):
            for written in self._ends.values():
                written.set()
            self._ends.clear()

    async def _handle_events(self, events: list[h2.events.Event]) -> None:
        for event in events:
            if isinstance(event, h2.events.DataReceived) and event.stream_id not in self.streams:
                self.connection.acknowledge_received_data(
                    event.flow_controlled_length, event.stream_id
                )
            else:
                await super()._handle_events([event])
        await self._flush()


class _Server(TCPServer):
    """hypercorn's connection handling, serving the connection as HTTP/2 from its first
    byte (:class:`_H2Protocol`). hypercorn starts every cleartext connection as HTTP/1.1,
    whose parser took the preface for a request and stopped the idle timer, and HTTP/2 arms
    it again only when a stream ends: so a connection that sent the preface and no stream
    was never closed (seen here: held past 30 s with a 1 s keep-alive timeout). Read as
    HTTP/2 from the start, the preface leaves the timer armed until a stream opens."""

    async def _read_data(self) -> None:
        wrapper = self.protocol
        wrapper.protocol = _H2Protocol(
            wrapper.app,
            wrapper.config,
            wrapper.context,
            wrapper.task_group,
            wrapper.state,
            wrapper.ssl,
            wrapper.client,
            wrapper.server,
            wrapper.send,
        )
        await wrapper.protocol.initiate()
        await super()._read_data()
        # The client has gone, its streams closed with it. Left running, the idle timer
        # would hold the connection's task, still counted open, until the keep-alive
        # timeout.
        await self.idle_task.stop()


class _Handed:
    """A handed-over connection as uvicorn's shutdown sees it (it calls ``shutdown``)."""

    def __init__(self, connections: Http2Connections) -> None:
        self._connections = connections

    def shutdown(self) -> None:
        self._connections.finish()


class Http2Connections:
    """The HTTP/2 connections of one server: hypercorn's handling, one task each."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.config = _LiveConfig(limits)
        # No read_timeout: it would cut a connection whose client only waits on an open
        # stream. h2's own bound on a header list (64 KiB) bounds a header's size.
        self.config.accesslog = None
        self.config.include_server_header = False  # as uvicorn's answers: no Server header
        self.config.errorlog = logging.getLogger("trigger_mock.http2")
        self._app: AppWrapper = wrap_app(app, self.config.wsgi_max_body_size, "asgi")  # type: ignore[arg-type]
        self._context = WorkerContext(None)
        self._finishing: asyncio.Task[None] | None = None

    def take(
        self,
        transport: asyncio.Transport,
        first: bytes,
        *,
        state: LifespanState,
        connections: set[Any],
        tasks: set[asyncio.Task[None]],
        on_closed: Callable[[], None],
    ) -> None:
        """Serve ``transport`` from here on, ``first`` being what it has sent so far.

        ``connections`` and ``tasks`` are uvicorn's (its server state): the connection and
        its task join them until it closes, so uvicorn's shutdown covers it. ``on_closed``
        runs when it has closed."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=2**16, loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        reader.feed_data(first)
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        server = _Server(self._app, loop, self.config, self._context, state, reader, writer)
        handed = _Handed(self)
        connections.add(handed)
        task = loop.create_task(server.run())
        tasks.add(task)

        def closed(done: asyncio.Task[None]) -> None:
            tasks.discard(done)
            connections.discard(handed)
            on_closed()

        task.add_done_callback(closed)

    def finish(self) -> None:
        """Ask every connection to end: idle ones close now, busy ones once their
        streams are done (and no new stream is accepted)."""
        if self._finishing is None:
            self._finishing = asyncio.get_running_loop().create_task(self._context.terminated.set())
