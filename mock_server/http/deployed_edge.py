"""Edge layers only the deployed server has, read from its Express middleware and route
builder: the 401 for a request with no ``Authorization`` header, the trailing-slash
redirect and the headers on every answer, the bare 405 of a route's stand-in loader, and
every API body read as JSON whatever its content type.
:func:`mock_server.app.edge` puts them in place when ``--fidelity deployed`` asks for them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..auth.ratelimit import behind_the_limiter
from .headers import header
from .responses import STATUS_DOCS, send_problem
from .routes import NOT_THE_API


class MissingAuthorization:
    """The deployed server's answer to an ``/api/*`` request with no ``Authorization``
    header, from the middleware in front of every route: a ``401`` in problem JSON,
    without CORS headers (preflights and the routes the middleware skips pass)."""

    PROBLEM: Final = {
        "title": "Unauthorized",
        "status": 401,
        "type": f"{STATUS_DOCS}401",
        "detail": "No authorization header provided",
        "error": "No authorization header provided",
    }

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] != "OPTIONS"
            and not header(scope, b"authorization")
        ):
            raw = scope.get("raw_path") or scope["path"].encode()
            if behind_the_limiter(raw.split(b"?", 1)[0].decode("latin-1")):
                await send_problem(send, 401, dict(self.PROBLEM), [])
                return
        await self.app(scope, receive, send)


class DeployedEdge:
    """What the deployed server's first Express middleware does to every request: a path
    ending in ``/`` is redirected (``301``) to the same path without it (repeated slashes
    folded, the query kept), and every answer carries ``Strict-Transport-Security`` and
    (on any host but the dashboard's) ``X-Robots-Tag``. The control plane, the S2
    endpoint and the object store (other services) are left alone."""

    HEADERS: Final = (
        (b"strict-transport-security", b"max-age=3153600000"),
        (b"x-robots-tag", b"noindex, nofollow"),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(NOT_THE_API):
            await self.app(scope, receive, send)
            return
        raw = (scope.get("raw_path") or scope["path"].encode()).split(b"?", 1)[0]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *self.HEADERS]
            await send(message)

        if len(raw) > 1 and raw.endswith(b"/"):
            await self._redirect(raw, scope, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    @staticmethod
    async def _redirect(raw: bytes, scope: Scope, send: Send) -> None:
        target = re.sub(rb"/+", b"/", raw[:-1]) or b"/"
        query = scope.get("query_string", b"")
        location = target + (b"?" + query if query else b"")
        body = b"Moved Permanently. Redirecting to " + location
        headers = [
            (b"location", location),
            (b"vary", b"Accept"),
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 301, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class ActionOnlyRoutes:
    """The deployed server's answer to ``GET``/``HEAD`` on a route that only takes
    ``POST`` (close, end-and-continue, appends): the route builder's stand-in loader, a
    ``405`` with no body, no ``Allow`` and no CORS headers."""

    def __init__(self, app: ASGIApp, *, methods_of: Callable[[str], frozenset[str]]) -> None:
        self.app = app
        self.methods_of = methods_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            raw = (scope.get("raw_path") or scope["path"].encode()).split(b"?", 1)[0]
            if self.methods_of(raw.decode("latin-1")) == {"POST"}:
                await send({"type": "http.response.start", "status": 405, "headers": []})
                await send({"type": "http.response.body", "body": b""})
                return
        await self.app(scope, receive, send)


class AssumeJsonBodies:
    """Treats every API request body as JSON whatever its declared ``Content-Type`` (the
    deployed server reads bodies that way). The control plane, the S2 endpoint and the
    object store (stand-ins for other services, with their own content types) keep theirs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and not path.startswith(NOT_THE_API):
            headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            if len(headers) != len(scope["headers"]):
                headers.append((b"content-type", b"application/json"))
                scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)
