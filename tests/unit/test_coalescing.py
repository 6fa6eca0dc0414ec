"""A response's head waits for its body, and never longer than the current loop turn."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mock_server.server.coalescing import CoalescingTransport

pytestmark = pytest.mark.anyio

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class Recorder:
    """A transport that keeps each write as it came."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else default


def coalescing() -> tuple[CoalescingTransport, Recorder]:
    raw = Recorder()
    return CoalescingTransport(raw, asyncio.get_running_loop()), raw  # type: ignore[arg-type]


async def test_head_and_body_leave_in_one_write() -> None:
    transport, raw = coalescing()
    transport.write(HEAD)
    assert raw.writes == []
    transport.write(b"{}")
    assert raw.writes == [HEAD + b"{}"]
    await asyncio.sleep(0)  # the turn's flush finds nothing left
    assert raw.writes == [HEAD + b"{}"]


async def test_a_head_alone_is_written_at_the_end_of_the_turn() -> None:
    transport, raw = coalescing()
    transport.write(HEAD)
    await asyncio.sleep(0)
    assert raw.writes == [HEAD]
    transport.write(b"event")  # a stream's first event, later
    assert raw.writes == [HEAD, b"event"]


async def test_continue_and_other_bytes_pass_at_once() -> None:
    transport, raw = coalescing()
    transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    transport.write(b"0\r\n\r\n")
    assert raw.writes == [b"HTTP/1.1 100 Continue\r\n\r\n", b"0\r\n\r\n"]


async def test_close_and_abort_write_a_held_head_first() -> None:
    transport, raw = coalescing()
    transport.write(HEAD)
    transport.close()
    assert raw.writes == [HEAD] and raw.closed
    transport, raw = coalescing()
    transport.write(HEAD)
    transport.abort()
    assert raw.writes == [HEAD] and raw.aborted


async def test_everything_else_goes_to_the_transport() -> None:
    transport, raw = coalescing()
    assert transport.get_extra_info("peername") == ("127.0.0.1", 1)
    assert not transport.is_closing()
    raw.closed = True
    assert transport.is_closing()
