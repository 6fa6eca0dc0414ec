"""Doing things to the connection itself, below HTTP: a TCP reset, a close with nothing
sent, bytes that are not a valid answer, a cut in the middle of a body.

The CLI's HTTP/1.1 protocol puts a :class:`Connection` in each request's scope state
(``scope["state"]["trigger_mock.connection"]``). Where there is none (an in-process
ASGI client, the HTTP/2 server on the S2 port) the app raises :class:`ConnectionDropped`
instead, which those servers turn into a broken stream and in-process clients into an
exception: the nearest thing they can show.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Final

from starlette.types import Receive, Scope

CONNECTION_KEY: Final = "trigger_mock.connection"
DROPS: Final = ("reset", "empty", "malformed", "hang")
# A chunked answer whose second chunk size is not hexadecimal.
MALFORMED: Final = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    b'5\r\n{"ok"\r\nzz\r\n'
)


class ConnectionDropped(ConnectionError):
    """An injected drop the server under the app cannot carry out itself."""


class Connection:
    """One client connection's transport, as the HTTP/1.1 protocol holds it."""

    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport

    def reset(self) -> None:
        """Close with a TCP RST (``SO_LINGER`` zero), dropping anything unsent."""
        sock = self._transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        abort = getattr(self._transport, "abort", None)
        if abort is not None:
            abort()
        else:
            self._transport.close()

    def close(self) -> None:
        """Close after what was already written (a FIN)."""
        self._transport.close()

    def write(self, data: bytes) -> None:
        write = getattr(self._transport, "write", None)
        if write is not None:
            write(data)


def connection_of(scope: Scope) -> Connection | None:
    state = scope.get("state") or {}
    found = state.get(CONNECTION_KEY)
    return found if isinstance(found, Connection) else None


async def until_disconnect(receive: Receive) -> None:
    """Wait until the client goes away (the body, if any, read and thrown away)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def drop(kind: str, scope: Scope, receive: Receive) -> None:
    """Leave the request without an HTTP answer, the way ``kind`` says."""
    if kind == "hang":
        await until_disconnect(receive)
        return
    connection = connection_of(scope)
    if connection is None:
        raise ConnectionDropped(f"injected drop: {kind}")
    if kind == "reset":
        connection.reset()
    else:
        if kind == "malformed":
            connection.write(MALFORMED)
        connection.close()
    await until_disconnect(receive)


async def cut(scope: Scope, receive: Receive) -> None:
    """End a body that has started, without its proper end: the client sees the
    connection close in the middle of the answer."""
    connection = connection_of(scope)
    if connection is None:
        raise ConnectionDropped("injected cut")
    connection.close()
    await until_disconnect(receive)
