"""Building responses: JSON bodies, Server-Sent Events, and the one error envelope every
failure goes through."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from connexion.exceptions import (
    NonConformingResponse,
    ProblemException,
    Unauthorized,
    UnsupportedMediaTypeProblem,
)
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from ..auth.errors import MissingApiKey
from ..channels.sse import Follow
from ..core.errors import (
    ApiError,
    HttpFailure,
    MethodNotAllowed,
    RouteNotFound,
    UnsupportedMediaType,
)
from ..core.fidelity import Behaviour
from ..core.jsoncodec import dump_json
from ..core.specs import HTTP_METHODS
from .failures.connection import connection_of, cut

logger = logging.getLogger("trigger_mock")

JSON_TYPE = "application/json; charset=utf-8"
PROBLEM_TYPE: Final = "application/problem+json; charset=utf-8"
STATUS_DOCS: Final = "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/"
NO_CORS: Final = b"x-trigger-mock-no-cors"
"""Marks a response the edge must send without CORS headers (the marker is removed)."""


def express_etag(body: bytes) -> str:
    """The weak ETag Express gives a body it sends (length, then a SHA-1 prefix)."""
    digest = base64.b64encode(hashlib.sha1(body).digest()).decode()[:27]
    return f'W/"{len(body):x}-{digest}"'


async def send_problem(
    send: Send, status: int, problem: dict[str, Any], headers: list[tuple[bytes, bytes]]
) -> None:
    """Problem JSON as the deployed server's Express middleware sends it: indented by two
    spaces, with Express's content type and ETag, and no CORS headers."""
    body = json.dumps(problem, indent=2, ensure_ascii=False).encode()
    headers = [
        *headers,
        (b"content-type", PROBLEM_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"etag", express_etag(body).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class JsonBody(Response):
    """What ``Response(body, status, media_type=JSON_TYPE)`` is, status, headers and body,
    built without Starlette's general header bookkeeping (every API answer is one)."""

    media_type = JSON_TYPE

    def __init__(self, body: bytes, status_code: int) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body
        self.raw_headers = [(b"content-length", str(len(body)).encode()), _JSON_TYPE_HEADER]


_JSON_TYPE_HEADER: Final = (b"content-type", JSON_TYPE.encode())


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    if headers is None and status >= 200 and status not in (204, 304):
        return JsonBody(dump_json(data), status)
    return Response(dump_json(data), status_code=status, headers=headers, media_type=JSON_TYPE)


def as_api_error(exc: Exception) -> ApiError:
    """Any exception raised while serving a request, as an :class:`ApiError`."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, UnsupportedMediaTypeProblem):
        return UnsupportedMediaType()
    if isinstance(exc, Unauthorized):
        return MissingApiKey()
    if isinstance(exc, NonConformingResponse):
        logger.error("response does not conform to openapi.yaml: %s", exc.detail)
        return ApiError(f"Response does not conform to openapi.yaml: {exc.detail}")
    if isinstance(exc, ProblemException):
        return HttpFailure(exc.status, str(exc.detail or exc.title))
    if isinstance(exc, HTTPException):
        if exc.status_code == 404:
            return RouteNotFound()
        if exc.status_code == 405:
            return MethodNotAllowed((exc.headers or {}).get("Allow"))
        return HttpFailure(exc.status_code, str(exc.detail))
    logger.error("unexpected error while serving a request", exc_info=exc)
    return ApiError()


def error_response(exc: Exception, behaviour: Behaviour) -> Response:
    reply = as_api_error(exc).render(behaviour)
    headers = reply.headers if reply.cors else {**reply.headers, NO_CORS.decode(): "1"}
    return json_response(reply.body, reply.status, headers)


ErrorHandler = Callable[[ConnexionRequest, Exception], Awaitable[ConnexionResponse]]


def error_handler(
    behaviour: Behaviour, *, methods_of: Callable[[str], frozenset[str]] | None = None
) -> ErrorHandler:
    """Connexion error handler rendering every exception in the API's envelope. A ``405``
    lists in ``Allow`` every method the specs give the path (``methods_of``): Starlette's
    own names only those of the first route that matched."""

    async def handle(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        response = error_response(exc, behaviour)
        headers = {k: v for k, v in response.headers.items() if k != "content-length"}
        if response.status_code == 405 and methods_of is not None:
            raw = request.scope.get("raw_path") or request.scope["path"].encode()
            allowed = methods_of(raw.split(b"?", 1)[0].decode("latin-1"))
            if allowed:
                headers["allow"] = ", ".join(
                    m for m in map(str.upper, HTTP_METHODS) if m in allowed
                )
        return ConnexionResponse(
            status_code=response.status_code,
            mimetype=JSON_TYPE,
            body=response.body,
            headers=headers,
        )

    return handle


WRITE_STALL_SECONDS: Final = 30.0
"""How long an SSE reader may leave its socket full before it is let go of."""


class EventStream(StreamingResponse):
    """An SSE response that ends quietly when the server stops, even for a reader whose
    socket is full (the server cancels it; that is the expected end, not an error).

    A reader that stops reading keeps, besides its socket's buffers, the event that did
    not fit (up to a 1 MiB batch). One whose socket stays full for
    :data:`WRITE_STALL_SECONDS` is reset, and that is freed; the client sees the
    connection drop and may resume with ``Last-Event-ID``."""

    def __init__(self, follow: Follow, headers: dict[str, str]) -> None:
        super().__init__(follow.events(), media_type="text/event-stream", headers=headers)
        self._channels = follow.channels
        self._follow = follow

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._follow.limit is not None:
            send = self._cutting(scope, receive, send)
        send = self._unstalled(scope, send)
        try:
            await super().__call__(scope, receive, send)
        except asyncio.CancelledError:
            if not self._channels.closing:
                raise

    @staticmethod
    def _unstalled(scope: Scope, send: Send) -> Send:
        """``send``, giving up on a reader whose socket stays full: it is reset, and the
        server's disconnect ends the stream."""
        stalled = False

        async def sending(message: Message) -> None:
            nonlocal stalled
            if stalled:
                return
            try:
                await asyncio.wait_for(send(message), WRITE_STALL_SECONDS)
            except TimeoutError:
                stalled = True
                connection = connection_of(scope)
                if connection is not None:
                    connection.reset()
                logger.info("reset an SSE reader whose socket stayed full %gs", WRITE_STALL_SECONDS)

        return sending

    def _cutting(self, scope: Scope, receive: Receive, send: Send) -> Send:
        """``send``, except that a stream the reader's limit ended is cut instead of
        ended: the client sees the connection close before the body's proper end."""
        follow = self._follow

        async def sending(message: Message) -> None:
            if (
                message["type"] == "http.response.body"
                and not message.get("more_body", False)
                and follow.cut
            ):
                await cut(scope, receive)
                return
            await send(message)

        return sending
