"""What the HTTP/2 tests on a served fake share: a raw socket, a hand-driven HTTP/2
connection (the ``h2`` package) and small helpers."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import h2.config
import h2.connection
import h2.events
import httpx

from mock_server.testing import MockServer
from tests.support import session_body

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS_FRAME = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # an empty SETTINGS frame
PING_DATA = b"one-port"
PING_FRAME = b"\x00\x00\x08\x06\x00\x00\x00\x00\x00" + PING_DATA
HEALTH = b"GET /_mock/health HTTP/1.1\r\nHost: x\r\n\r\n"
SETTINGS, PING = 0x04, 0x06  # HTTP/2 frame types
ACK = 0x01
PATIENCE = 10.0  # seconds: far beyond any bound under test


class Wire:
    """One client socket, its bytes written by hand."""

    def __init__(self, port: int, patience: float = PATIENCE) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=patience)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def more(self) -> bytes:
        """Read what has come (``b""`` at the end)."""
        data = self.sock.recv(65536)
        self.buffer += data
        return data

    def frames(self) -> list[tuple[int, int, bytes]]:
        """Type, flags and payload of each whole HTTP/2 frame received so far."""
        found, data = [], self.buffer
        while len(data) >= 9:
            end = 9 + int.from_bytes(data[:3], "big")
            if len(data) < end:
                break
            found.append((data[3], data[4], data[9:end]))
            data = data[end:]
        return found

    def until_frame(self, kind: int, flags: int = 0) -> bool:
        """Read until a frame of ``kind`` with ``flags`` has come; ``False`` if the server
        closed first."""
        while not any(k == kind and f & flags == flags for k, f, _ in self.frames()):
            if not self.more():
                return False
        return True

    def rest(self) -> bytes:
        """Everything until the server closes (a reset or the patience running out fails
        the test)."""
        while self.more():
            pass
        return self.buffer

    def close(self) -> None:
        self.sock.close()


def open_h2(port: int) -> Wire:
    """A connection that sent the preface and SETTINGS, and got the server's SETTINGS."""
    wire = Wire(port)
    try:
        wire.send(PREFACE + SETTINGS_FRAME)
        assert wire.until_frame(SETTINGS), f"no SETTINGS frame: {wire.buffer!r}"
        assert wire.frames()[0][0] == SETTINGS  # the server's preface comes first
    except BaseException:
        wire.close()
        raise
    return wire


def answers_ping(wire: Wire) -> bool:
    """Whether the HTTP/2 connection is still served: a PING gets its ACK."""
    wire.buffer = b""
    try:
        wire.send(PING_FRAME)
        return wire.until_frame(PING, ACK) and (PING, ACK, PING_DATA) in wire.frames()
    except (ConnectionResetError, BrokenPipeError):
        return False


def refused(port: int, opening: bytes) -> bool:
    """Whether a new connection that sends ``opening`` is closed with no answer: a reset
    (which may come before ``connect`` returns) or an EOF."""
    try:
        wire = Wire(port)
    except ConnectionResetError:
        return True
    try:
        wire.send(opening)
        return wire.rest() == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    finally:
        wire.close()


class H2:
    """An HTTP/2 client connection driven by hand (the ``h2`` package), for what httpx
    does not let a test time: when a request's body goes out, when the client is idle."""

    def __init__(self, port: int) -> None:
        self.wire = Wire(port)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        self.flush()
        self.status: dict[int, int] = {}
        self.body: dict[int, bytes] = {}
        self.ended: set[int] = set()

    def flush(self) -> None:
        self.wire.send(self.conn.data_to_send())

    def request(
        self, stream: int, method: str, path: str, *headers: tuple[str, str], end: bool = True
    ) -> None:
        """Send a request's header (and, with ``end``, no body)."""
        pseudo = [(":method", method), (":scheme", "http"), (":authority", "x"), (":path", path)]
        self.conn.send_headers(stream, pseudo + list(headers), end_stream=end)
        self.flush()

    def send_body(self, stream: int, data: bytes) -> None:
        """The request's body (possibly empty), ending it."""
        self.conn.send_data(stream, data, end_stream=True)
        self.flush()

    def until(self, done: Callable[[], bool]) -> None:
        """Read and answer frames until ``done()``; fails if the server closes first."""
        while not done():
            data = self.wire.sock.recv(65536)
            assert data, "the server closed the connection"
            for event in self.conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    self.status[event.stream_id] = int(dict(event.headers)[b":status"])
                elif isinstance(event, h2.events.DataReceived):
                    self.body[event.stream_id] = self.body.get(event.stream_id, b"") + event.data
                    self.conn.acknowledge_received_data(
                        event.flow_controlled_length, event.stream_id
                    )
                elif isinstance(event, h2.events.StreamEnded):
                    self.ended.add(event.stream_id)
            self.flush()

    def answered(self, stream: int) -> int:
        """The status of ``stream``'s whole answer."""
        self.until(lambda: stream in self.ended)
        return self.status[stream]


def open_connections(fake: MockServer) -> int | None:
    """``bounds.openConnections`` in ``/_mock/health`` (counting the health check's own
    connection), or ``None`` if the check was refused."""
    try:
        health = httpx.get(f"{fake.base_url}/_mock/health", timeout=PATIENCE)
    except httpx.TransportError:
        return None
    return int(health.json()["bounds"]["openConnections"])


def wait_for(check: Callable[[], bool], timeout: float = PATIENCE) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the patience"
        time.sleep(0.05)


def h2_client(**options: Any) -> httpx.Client:
    """An httpx client speaking only HTTP/2: on ``http://``, with prior knowledge."""
    return httpx.Client(http1=False, http2=True, timeout=PATIENCE, **options)


def created_session(fake: MockServer, key: str) -> str:
    status, created = fake.call("POST", "/api/v1/sessions", session_body(), token=key)
    assert status == 201
    return str(created["id"])
