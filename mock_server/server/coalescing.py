"""One write per answer: an HTTP/1.1 response's head and body leave in one ``send``.

uvicorn writes a response's status line and headers when the app sends
``http.response.start``, and its body on ``http.response.body``: two system calls, and on
loopback two wake-ups of the client, for every answer. :class:`CoalescingTransport` sits
between uvicorn's protocol and the socket's transport and holds a response head until the
next write, which takes it along. A head is never held past the current turn of the event
loop: if no body follows at once (a stream waiting for its first event, a slow-answer
fault), it is written on its own, as before. Informational heads (``100 Continue``) and
everything that is not a response head pass at once.
"""

from __future__ import annotations

import asyncio
from typing import Any


class CoalescingTransport:
    """A transport that holds a response head until the next write or the end of the
    current loop turn; every other call goes to ``raw``."""

    __slots__ = ("_held", "_loop", "raw")

    def __init__(self, raw: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.raw = raw
        self._loop = loop
        self._held = b""

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._held:
            held, self._held = self._held, b""
            self.raw.write(held + data)
        elif data[:7] == b"HTTP/1." and data[9:10] != b"1" and len(data) > 12:
            self._held = bytes(data)
            self._loop.call_soon(self.flush)
        else:
            self.raw.write(data)

    def flush(self) -> None:
        """Write a held head now."""
        if self._held:
            held, self._held = self._held, b""
            self.raw.write(held)

    def close(self) -> None:
        self.flush()
        self.raw.close()

    def abort(self) -> None:
        self.flush()
        self.raw.abort()

    def is_closing(self) -> bool:
        return self.raw.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)
