"""CORS as the real API answers it: the request's ``Origin`` echoed (never ``*``), the JWT
headers exposed on every answer, and every ``OPTIONS`` answered as a preflight (``200
{}``) before authentication. An answer the deployed server sends without CORS carries the
:data:`~.responses.NO_CORS` marker, which is removed here instead.

The rules are functions, used by the edge's own send (:class:`~.edge.Edge`) and by
:class:`Cors`, the layer for the paths that do not take the edge's direct route (fault
rules armed, deployed mode) and for a fault's own answers.
"""

from __future__ import annotations

from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .headers import header
from .responses import JSON_TYPE, NO_CORS

EXPOSED_HEADERS: Final = "x-trigger-jwt,x-trigger-jwt-claims"
ALLOWED_METHODS: Final = "GET,HEAD,PUT,PATCH,POST,DELETE"
_EXPOSE: Final = b"access-control-expose-headers"
_EXPOSED_VALUE: Final = EXPOSED_HEADERS.encode()


def add_cors(message: Message, origin: str | None) -> None:
    """Give an ``http.response.start`` message its CORS headers (or take the
    :data:`NO_CORS` marker off one that must have none)."""
    exposed = unmarked = False
    for name, _ in message.get("headers", ()):
        lowered = name.lower()
        exposed = exposed or lowered == _EXPOSE  # channel routes set theirs
        unmarked = unmarked or lowered == NO_CORS
    if unmarked:  # an answer the deployed server sends without CORS
        message["headers"] = [(k, v) for k, v in message["headers"] if k.lower() != NO_CORS]
        return
    if origin:
        headers = MutableHeaders(scope=message)
        if "access-control-allow-origin" not in headers:
            headers["access-control-allow-origin"] = origin
            headers.add_vary_header("Origin")
    if not exposed:
        message["headers"] = [*message.get("headers", ()), (_EXPOSE, _EXPOSED_VALUE)]


async def send_preflight(origin: str | None, requested: str | None, send: Send) -> None:
    """The answer to any ``OPTIONS``."""
    body = b"{}"
    headers = [
        (b"content-type", JSON_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
        (b"access-control-max-age", b"300"),
    ]
    vary = ["Access-Control-Request-Headers"]
    if origin:
        headers.append((b"access-control-allow-origin", origin.encode("latin-1")))
        vary.insert(0, "Origin")
    if requested:
        headers.append((b"access-control-allow-headers", requested.encode("latin-1")))
    headers.append((b"vary", ", ".join(vary).encode()))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Cors:
    """The CORS rules as an ASGI layer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = header(scope, b"origin")
        if scope["method"] == "OPTIONS":
            await send_preflight(origin, header(scope, b"access-control-request-headers"), send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_cors(message, origin)
            await send(message)

        await self.app(scope, receive, send_with_cors)
