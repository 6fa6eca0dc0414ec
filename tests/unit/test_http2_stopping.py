"""A stream still answering when the server starts to stop ends whole, GOAWAY after its
END_STREAM: hypercorn's HTTP/2 as the fake runs it (``server/http2.py``), driven in-process
with a writer that gives the loop a turn on every write, as a socket's drain can."""

from __future__ import annotations

import asyncio
from typing import Any

import h2.config
import h2.connection
import h2.events
from hypercorn.asyncio.task_group import TaskGroup
from hypercorn.asyncio.worker_context import WorkerContext
from hypercorn.config import Config
from hypercorn.events import Closed, Event, RawData
from hypercorn.utils import wrap_app

from mock_server.server.http2 import _H2Protocol


async def _serve_one_stream_through_a_stop() -> list[h2.events.Event]:
    context = WorkerContext(None)
    written = bytearray()

    async def send(event: Event) -> None:
        if isinstance(event, RawData):
            written.extend(event.data)
            await asyncio.sleep(0)

    async def app(scope: Any, receive: Any, send_message: Any) -> None:
        await send_message({"type": "http.response.start", "status": 200, "headers": []})
        first = {"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True}
        await send_message(first)
        await context.terminated.set()  # SIGTERM: the live stream is told to end
        await send_message({"type": "http.response.body", "body": b"data: 2\n\n"})

    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    client.initiate_connection()
    stream_id = client.get_next_available_stream_id()
    client.send_headers(
        stream_id,
        [(":method", "GET"), (":path", "/"), (":scheme", "http"), (":authority", "x")],
        end_stream=True,
    )
    config = Config()
    async with TaskGroup(asyncio.get_running_loop()) as group:
        protocol = _H2Protocol(
            wrap_app(app, config.wsgi_max_body_size, "asgi"),
            config,
            context,
            group,
            {},
            False,
            None,
            None,
            send,
        )
        await protocol.initiate()
        await protocol.handle(RawData(client.data_to_send()))
        for _ in range(200):  # far more turns than the stream needs
            await asyncio.sleep(0)
        await protocol.handle(Closed())
    events = client.receive_data(bytes(written))
    ends = h2.events.StreamEnded | h2.events.ConnectionTerminated
    return [e for e in events if isinstance(e, ends)]


def test_a_stream_answering_when_the_stop_comes_ends_before_goaway() -> None:
    ends = asyncio.run(_serve_one_stream_through_a_stop())
    assert [type(e) for e in ends] == [h2.events.StreamEnded, h2.events.ConnectionTerminated]
    stream_ended, goaway = ends
    assert isinstance(stream_ended, h2.events.StreamEnded)
    assert isinstance(goaway, h2.events.ConnectionTerminated)
    assert goaway.last_stream_id == stream_ended.stream_id == 1
