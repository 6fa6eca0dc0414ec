"""The edge: the one layer every request meets first, with the access log and the request
journal, CORS (:mod:`.cors`) and the canonical path (:mod:`.paths`).

Most requests take its direct route: with no fault rule that can still fire and the
documented fidelity, a request goes from here to the API (the fast lane, then Connexion)
with one wrapper around ``send``, which notes the answer for the journal and gives it its
CORS headers (and the rate limit's, when the limiter is on: it is asked here, as the
failures layer would ask it), and one around ``receive``. Otherwise it takes the
layered route, in this order, outermost first: the deployed server's own edge
(``--fidelity deployed``), the failures layer (fault rules, the limiter), the deployed
server's 401 and 405 stand-ins, CORS, the canonical path, and (deployed) every body read
as JSON. Either way the journal sees the answer as the client got it.

Request headers are read by :mod:`mock_server.http.headers`, as the fast lane and the body
validator read them.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..core.clock import Clock
from ..core.errors import ParamsError
from ..core.fidelity import Behaviour
from .cors import add_cors, send_preflight
from .failures.answers import limit_headers, send_rate_limited
from .failures.layer import Failures
from .failures.marks import FAULT_ID
from .headers import first_values
from .journal import BODY_CAP, RawHeaders, RequestJournal
from .paths import canonical_scope
from .responses import error_response

access_logger = logging.getLogger("trigger_mock.access")
_CORS_HEADERS = (b"origin", b"access-control-request-headers")


class Edge:
    """One line per request in the access log (client, method, path, status, duration),
    and an entry in the request journal for every request outside the control plane,
    with the exchange as it went: the header lists as they were, the bodies' first
    :data:`BODY_CAP` bytes. ``api`` answers on the direct route (its CORS and path done
    here), ``layered`` on the other; ``direct`` says whether the direct route may be taken
    at all (not with the deployed server's edge layers)."""

    def __init__(
        self,
        *,
        api: ASGIApp,
        layered: ASGIApp,
        failures: Failures,
        direct: bool,
        journal: RequestJournal,
        clock: Clock,
        behaviour: Behaviour,
    ) -> None:
        self.api = api
        self.layered = layered
        self.failures = failures
        self.direct = direct
        self.cors = True
        """Whether the direct route gives answers their CORS headers (a test can take it
        away, with :class:`~.cors.Cors` from the layered route, to see what catches it)."""
        self.journal = journal
        self.clock = clock
        self.behaviour = behaviour

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.layered(scope, receive, send)
            return
        started = time.perf_counter()
        at_ms = self.clock.now_ms()
        status = 0
        received = sent = 0
        request_body: list[bytes] = []
        response_body: list[bytes] = []
        response_headers: RawHeaders = ()
        direct = self.direct and not self.failures.book.armed
        origin = requested = None
        cors = False
        limited: list[tuple[bytes, bytes]] = []
        if direct:
            origin, requested = first_values(scope["headers"], *_CORS_HEADERS)
            cors = self.cors and scope["method"] != "OPTIONS"

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
                if cors:
                    add_cors(message, origin)
                if limited:  # after CORS's, as the layered route adds them
                    message["headers"] = [*message.get("headers", ()), *limited]
                status = message["status"]
                response_headers = message.get("headers", ())
            elif message["type"] == "http.response.body":
                body = message.get("body", b"")
                if body and sent < BODY_CAP:
                    response_body.append(body[: BODY_CAP - sent])
                sent += len(body)
            await send(message)

        try:
            if not direct:
                await self.layered(scope, receive_and_count, send_and_note)
            elif scope["method"] == "OPTIONS" and self.cors:
                await send_preflight(origin, requested, send_and_note)
            else:
                verdict = (
                    None if self.failures.limiter.policy is None else self.failures.spend(scope)
                )
                if verdict is not None and not verdict.success:
                    cors = False  # the refusal carries no CORS headers, as deployed
                    await send_rate_limited(send_and_note, verdict, self.clock.now_ms())
                    return
                if verdict is not None:
                    limited = limit_headers(verdict)
                await self._api(scope, receive_and_count, send_and_note)
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

    async def _api(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            scope = canonical_scope(scope)
        except ParamsError as error:
            await error_response(error, self.behaviour)(scope, receive, send)
            return
        await self.api(scope, receive, send)
