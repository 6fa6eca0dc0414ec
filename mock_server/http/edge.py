"""The edge: ASGI layers around the fast lane and Connexion (CORS, path decoding, the
access log and journal, and the deployed server's reading of content types).

They wrap the whole app, so CORS headers also reach error responses and the access log
sees every request, however it ended. Request headers are read by
:mod:`mock_server.http.headers`, as the fast lane and the body validator read them.
"""

from __future__ import annotations

import logging
import re
import time
from urllib.parse import quote, unquote_to_bytes

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..core.clock import Clock
from ..core.errors import Issue, ParamsError
from ..core.fidelity import Behaviour
from .failures.marks import FAULT_ID
from .headers import header
from .journal import BODY_CAP, RawHeaders, RequestJournal
from .responses import JSON_TYPE, NO_CORS, error_response
from .routes import NOT_THE_API

EXPOSED_HEADERS = "x-trigger-jwt,x-trigger-jwt-claims"
_EXPOSE = b"access-control-expose-headers"
_EXPOSED_VALUE = EXPOSED_HEADERS.encode()
# A path of unreserved characters only is already in canonical form.
_PLAIN_PATH = re.compile(rb"[A-Za-z0-9_.~/-]*")
ALLOWED_METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE"

access_logger = logging.getLogger("trigger_mock.access")


class Cors:
    """CORS as the real API answers it: the request's ``Origin`` echoed (never ``*``),
    exposed JWT headers on every response, and every ``OPTIONS`` answered as a preflight
    (``200 {}``) before authentication."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = header(scope, b"origin")
        if scope["method"] == "OPTIONS":
            await self._preflight(origin, header(scope, b"access-control-request-headers"), send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                exposed = unmarked = False
                for name, _ in message.get("headers", ()):
                    lowered = name.lower()
                    exposed = exposed or lowered == _EXPOSE  # channel routes set theirs
                    unmarked = unmarked or lowered == NO_CORS
                if unmarked:  # an answer the deployed server sends without CORS
                    message["headers"] = [
                        (k, v) for k, v in message["headers"] if k.lower() != NO_CORS
                    ]
                else:
                    if origin:
                        headers = MutableHeaders(scope=message)
                        if "access-control-allow-origin" not in headers:
                            headers["access-control-allow-origin"] = origin
                            headers.add_vary_header("Origin")
                    if not exposed:
                        message["headers"] = [
                            *message.get("headers", ()),
                            (_EXPOSE, _EXPOSED_VALUE),
                        ]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    @staticmethod
    async def _preflight(origin: str | None, requested: str | None, send: Send) -> None:
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


class CanonicalPath:
    """Decodes the raw path one segment at a time and re-encodes each segment in one
    canonical percent-encoding, so an ``externalId`` holding ``/`` (sent as ``%2F``)
    stays inside its segment. Handlers decode their path parameters with
    :func:`urllib.parse.unquote`. A path that is not percent-encoded UTF-8 gets a 400."""

    def __init__(self, app: ASGIApp, *, behaviour: Behaviour) -> None:
        self.app = app
        self.behaviour = behaviour

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            # ASGI's raw_path has no query string, but some servers have sent one.
            raw = (scope.get("raw_path") or scope["path"].encode()).split(b"?", 1)[0]
            if _PLAIN_PATH.fullmatch(raw):
                plain = raw.decode("ascii")
                if plain != scope["path"]:
                    scope = {**scope, "path": plain}
                await self.app(scope, receive, send)
                return
            try:
                segments = [unquote_to_bytes(s).decode("utf-8") for s in raw.split(b"/")]
            except UnicodeDecodeError:
                message = "The path is not valid percent-encoded UTF-8"
                error = ParamsError([Issue("custom", message, ("path",))])
                await error_response(error, self.behaviour)(scope, receive, send)
                return
            scope = {**scope, "path": "/".join(quote(s, safe="") for s in segments)}
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


class AccessLog:
    """One line per request (client, method, path, status, duration), and an entry in the
    request journal for every request outside the control plane, with the exchange as it
    went: the header lists as they were, the bodies' first :data:`BODY_CAP` bytes."""

    def __init__(self, app: ASGIApp, *, journal: RequestJournal, clock: Clock) -> None:
        self.app = app
        self.journal = journal
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        at_ms = self.clock.now_ms()
        status = 0
        received = sent = 0
        request_body: list[bytes] = []
        response_body: list[bytes] = []
        response_headers: RawHeaders = ()

        async def receive_and_count() -> Message:
            nonlocal received
            message = await receive()
            body = message.get("body", b"")
            if body and received < BODY_CAP:  # keep the chunk, or the part within the cap
                request_body.append(body[: BODY_CAP - received])
            received += len(body)
            return message

        async def send_and_note(message: Message) -> None:
            nonlocal status, sent, response_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = message.get("headers", ())
            elif message["type"] == "http.response.body":
                body = message.get("body", b"")
                if body and sent < BODY_CAP:
                    response_body.append(body[: BODY_CAP - sent])
                sent += len(body)
            await send(message)

        try:
            await self.app(scope, receive_and_count, send_and_note)
        finally:
            latency = (time.perf_counter() - started) * 1000
            client = scope.get("client")
            path = scope.get("raw_path", b"").decode("latin-1") or scope["path"]
            path = path.split("?", 1)[0]
            access_logger.info(
                '%s "%s %s" %d %.1fms',
                client[0] if client else "-",
                scope["method"],
                path,
                status,
                latency,
            )
            if not path.startswith("/_mock/"):
                self.journal.record(
                    at_ms=at_ms,
                    method=scope["method"],
                    path=path,
                    query=scope.get("query_string", b"").decode("latin-1"),
                    status=status,
                    latency_ms=latency,
                    request_headers=scope["headers"],
                    request_bytes=received,
                    response_bytes=sent,
                    fault=scope.get(FAULT_ID),
                    request_body=request_body,
                    response_headers=response_headers,
                    response_body=response_body,
                    scheme=scope.get("scheme", "http"),
                    http_version=scope.get("http_version", "1.1"),
                    server=scope.get("server"),
                    client=client,
                )
