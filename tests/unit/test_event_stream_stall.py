"""An SSE reader whose socket stays full is reset after WRITE_STALL_SECONDS, so what it
held (the event that did not fit) is freed; one that reads is never touched."""

from __future__ import annotations

import asyncio

import pytest
from starlette.types import Message

from mock_server.http import responses
from mock_server.http.failures.connection import CONNECTION_KEY, Connection
from mock_server.http.responses import EventStream

pytestmark = pytest.mark.anyio
EVENT: Message = {"type": "http.response.body", "body": b"event: ping\n\n", "more_body": True}


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.aborted = False

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default

    def abort(self) -> None:
        self.aborted = True


async def test_a_reader_whose_socket_stays_full_is_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(responses, "WRITE_STALL_SECONDS", 0.05)
    transport = Transport()
    scope = {"type": "http", "state": {CONNECTION_KEY: Connection(transport)}}
    blocked: list[Message] = []

    async def full_socket(message: Message) -> None:
        blocked.append(message)
        await asyncio.sleep(30)

    send = EventStream._unstalled(scope, full_socket)
    await asyncio.wait_for(send(EVENT), 5)
    assert transport.aborted and len(blocked) == 1
    await asyncio.wait_for(send(EVENT), 1)  # later events go nowhere, at once
    assert len(blocked) == 1


async def test_a_reader_that_reads_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(responses, "WRITE_STALL_SECONDS", 0.2)
    transport = Transport()
    scope = {"type": "http", "state": {CONNECTION_KEY: Connection(transport)}}
    sent: list[Message] = []

    async def slow_but_moving(message: Message) -> None:
        await asyncio.sleep(0.05)
        sent.append(message)

    send = EventStream._unstalled(scope, slow_but_moving)
    for _ in range(10):  # 0.5 s in all, each write well within the stall bound
        await send(EVENT)
    assert len(sent) == 10 and not transport.aborted
