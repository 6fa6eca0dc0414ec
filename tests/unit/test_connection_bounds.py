"""The connection bounds below HTTP: the guard's counting and logging, and the bounded
httptools protocol driven through a stand-in transport (no sockets, no app), with
timeouts of a few hundredths of a second. Served over real sockets:
``tests/http/test_connection_bounds.py``."""

from __future__ import annotations

import asyncio
import json
import logging
import resource
from collections.abc import Callable
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from mock_server.core.limits import BoundCounts, Limits
from mock_server.server.connection_bounds import ConnectionGuard, raise_open_file_limit
from mock_server.server.protocol import BoundedHttpToolsProtocol, protocol_class

pytestmark = pytest.mark.anyio

GET = b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n"
HALF = b"GET /x HTTP/1.1\r\nHost: t\r\n"
SHORT = 0.05  # seconds: the header timeout in these tests


class Transport(asyncio.Transport):
    """What the protocol writes, and whether it closed or aborted."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = self.aborted = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = self.aborted = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def ok_after(delay: float) -> Callable[..., Any]:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(delay)
        headers = [(b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


class Served:
    """One server's protocol class, its limits and counts, and connections to it."""

    def __init__(self, app: Callable[..., Any], **limits: Any) -> None:
        # uvicorn's own keep-alive setting, far off: the Limits value must be the one used.
        self.config = uvicorn.Config(app, log_level="warning", timeout_keep_alive=600)
        self.limits = Limits(**{"header_timeout": SHORT, "keep_alive_timeout": 5.0, **limits})
        self.bounds = BoundCounts()
        self.protocol = protocol_class(self.limits, self.bounds)
        self.state = ServerState()

    def connect(self) -> tuple[BoundedHttpToolsProtocol, Transport]:
        protocol = self.protocol(
            config=self.config,
            server_state=self.state,
            app_state={},
            _loop=asyncio.get_running_loop(),
        )
        transport = Transport()
        protocol.connection_made(transport)
        return protocol, transport


async def until(check: Callable[[], bool]) -> None:
    """Poll ``check`` for up to five seconds."""
    for _ in range(1000):
        if check():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("not within five seconds")


def is_408(written: bytes) -> bool:
    head, _, body = written.partition(b"\r\n\r\n")
    return head.startswith(b"HTTP/1.1 408 ") and "header" in json.loads(body)["error"]


async def test_a_connection_that_never_sends_is_answered_408_and_closed() -> None:
    served = Served(ok_after(0))
    protocol, transport = served.connect()
    assert served.bounds.open_connections == 1
    await until(lambda: transport.closed)
    assert is_408(bytes(transport.written))
    assert b"content-type: application/json" in transport.written
    assert served.bounds.header_timeouts == 1
    protocol.connection_lost(None)
    assert served.bounds.open_connections == 0


async def test_half_a_header_is_answered_408_even_while_bytes_trickle_in() -> None:
    served = Served(ok_after(0))
    protocol, transport = served.connect()
    for piece in (b"GET /x HTTP/1.1\r\n", b"Host: t\r\n", b"X-A: 1\r\n"):
        protocol.data_received(piece)
        await asyncio.sleep(SHORT / 3)
    await until(lambda: transport.closed)
    assert is_408(bytes(transport.written)) and served.bounds.header_timeouts == 1


async def test_a_request_in_flight_outlives_the_header_timeout() -> None:
    served = Served(ok_after(SHORT * 6))
    protocol, transport = served.connect()
    protocol.data_received(GET)
    await until(lambda: transport.written.endswith(b"ok"))
    assert transport.written.startswith(b"HTTP/1.1 200 ") and not transport.closed
    assert served.bounds.header_timeouts == 0


async def test_an_idle_keep_alive_connection_goes_at_the_keep_alive_timeout_unanswered() -> None:
    served = Served(ok_after(0), keep_alive_timeout=SHORT * 4)
    protocol, transport = served.connect()
    protocol.data_received(GET)
    await until(lambda: transport.closed)
    assert transport.written.count(b"HTTP/1.1") == 1  # the 200, no 408 after it
    assert served.bounds.idle_closed == 1 and served.bounds.header_timeouts == 0


async def test_the_keep_alive_timeout_in_force_when_it_is_armed_applies() -> None:
    served = Served(ok_after(0), keep_alive_timeout=60.0)
    protocol, transport = served.connect()
    served.limits.keep_alive_timeout = SHORT
    protocol.data_received(GET)
    await until(lambda: transport.closed)
    assert served.bounds.idle_closed == 1


async def test_after_an_idle_deadline_a_new_request_gets_a_deadline_of_its_own() -> None:
    served = Served(ok_after(0), keep_alive_timeout=60.0)
    protocol, transport = served.connect()
    protocol.data_received(GET)
    await asyncio.sleep(SHORT * 3)  # past the header deadline, idle: nothing happens
    assert not transport.closed and served.bounds.header_timeouts == 0
    protocol.data_received(HALF)
    await until(lambda: transport.closed)
    assert is_408(bytes(transport.written).split(b"ok", 1)[1])
    assert served.bounds.header_timeouts == 1


async def test_pipelined_requests_are_all_answered() -> None:
    served = Served(ok_after(SHORT * 2))
    protocol, transport = served.connect()
    protocol.data_received(GET * 3)
    await until(lambda: transport.written.count(b"HTTP/1.1 200 ") == 3)
    assert b"408" not in transport.written and not transport.closed


async def test_the_connection_beyond_the_cap_is_aborted_and_counted() -> None:
    served = Served(ok_after(0), max_connections=2, header_timeout=60.0)
    first, _ = served.connect()
    served.connect()
    refused, transport = served.connect()
    assert transport.aborted and transport.written == b""
    assert served.bounds.refused_connections == 1 and served.bounds.open_connections == 2
    refused.connection_lost(None)
    assert served.bounds.open_connections == 2
    first.connection_lost(None)
    _, admitted = served.connect()
    assert not admitted.aborted and served.bounds.open_connections == 2
    served.limits.max_connections = 3  # read as each connection opens
    _, admitted = served.connect()
    assert not admitted.aborted and served.bounds.open_connections == 3


def test_each_kind_is_logged_at_most_once_a_second(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    guard = ConnectionGuard(Limits(max_connections=1), BoundCounts(), clock=lambda: now[0])
    guard.bounds.open_connections = 1
    with caplog.at_level(logging.WARNING, logger="trigger_mock"):
        for _ in range(5):
            assert not guard.admit()
        guard.header_timed_out()
        now[0] += 1.5
        assert not guard.admit()
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 3 and guard.bounds.refused_connections == 6
    assert lines[0].startswith("refused a connection") and "more like it" not in lines[0]
    assert "header_timeout" in lines[1]
    assert "(4 more like it since the last such line)" in lines[2]


def test_the_open_file_limit_is_raised_toward_the_hard_limit(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    limit = [1024, 4096]

    def setrlimit(kind: int, value: tuple[int, int]) -> None:
        limit[:] = value

    monkeypatch.setattr(resource, "getrlimit", lambda kind: tuple(limit))
    monkeypatch.setattr(resource, "setrlimit", setrlimit)
    assert raise_open_file_limit(500) == 1024  # enough already: left alone
    assert raise_open_file_limit(2000) == 4096
    with caplog.at_level(logging.WARNING, logger="trigger_mock"):
        assert raise_open_file_limit(8000) == 4096
    assert "max_connections 8000" in caplog.text
