"""Telling an HTTP/2 connection from an HTTP/1.1 one by its first bytes, and where the
HTTP/2 ones go (:mod:`.http2`, hypercorn's handling).

hypercorn and h2 take some 35 ms to import, a tenth of the cold start, and only the SDK's
S2 writer opens HTTP/2 connections: :class:`Http2Handover` imports them with the first."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Final

from starlette.types import ASGIApp

from ..core.limits import Limits

if TYPE_CHECKING:
    from .http2 import Http2Connections

PREFACE: Final = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
"""The first bytes of every HTTP/2 connection (RFC 9113, section 3.4)."""


def opens_http2(first: bytes) -> bool | None:
    """Whether a connection whose first bytes are ``first`` speaks HTTP/2: ``None`` while
    they are too few to tell (a strict prefix of the preface)."""
    if len(first) >= len(PREFACE):
        return first.startswith(PREFACE)
    return None if PREFACE.startswith(first) else False


class Http2Handover:
    """One server's HTTP/2 connections: :class:`~.http2.Http2Connections`, made (and
    hypercorn imported) when the first one comes."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self._app = app
        self._limits = limits
        self._connections: Http2Connections | None = None

    @property
    def started(self) -> bool:
        """Whether an HTTP/2 connection has come (and hypercorn was imported)."""
        return self._connections is not None

    def take(self, transport: asyncio.Transport, first: bytes, **uvicorns: Any) -> None:
        """:meth:`.http2.Http2Connections.take`."""
        if self._connections is None:
            from .http2 import Http2Connections

            self._connections = Http2Connections(self._app, self._limits)
        self._connections.take(transport, first, **uvicorns)
