"""Assembling ``trigger-mock proxy``: the checker (the API's spec, as the mode it expects
reads it), the violation log, the journal, the forwarder, and the proxy's own control
plane (``openapi/proxy.yaml`` plus the journal's calls from ``openapi/admin.yaml``)."""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import connexion
from connexion.exceptions import ProblemException
from connexion.options import SwaggerUIOptions
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from ..core.clock import Clock, ControllableClock
from ..core.fidelity import Behaviour, Fidelity
from ..core.settings import ProxySettings
from ..core.specs import ADMIN_SPEC_PATH, PACKAGE_DIR, api_spec_for, load_spec
from ..handlers.journal import JournalHandlers
from ..handlers.proxy import ProxyHandlers
from ..http.journal import RequestJournal
from ..http.responses import error_handler
from ..http.routes import OperationRoutes
from ..http.security import admin_security_handler
from ..proxy.checker import FAULT_HEADER, ExchangeChecker, Expect
from ..proxy.exchange import Exchange
from ..proxy.forward import Finished, Forwarder
from ..proxy.violations import ViolationLog
from .routing import handler_resolver

PROXY_SPEC_PATH = PACKAGE_DIR / "openapi" / "proxy.yaml"
JOURNAL_PATHS = "/_mock/requests"
access_logger = logging.getLogger("trigger_mock.access")
logger = logging.getLogger("trigger_mock")


class Recording(Protocol):
    def add(self, exchange: Exchange) -> None: ...
    def close(self) -> object: ...


def control_spec() -> dict[str, Any]:
    """``proxy.yaml`` with the journal's paths (and what they refer to) from ``admin.yaml``."""
    spec = load_spec(PROXY_SPEC_PATH)
    admin = load_spec(ADMIN_SPEC_PATH)
    for path, item in admin["paths"].items():
        if path.startswith(JOURNAL_PATHS):
            spec["paths"][path] = copy.deepcopy(item)
    for section, entries in admin["components"].items():
        merged = {**copy.deepcopy(entries), **spec["components"].get(section, {})}
        spec["components"][section] = merged
    return spec


def checked_spec(expect: str) -> dict[str, Any]:
    """The API's spec as the expected mode reads it (the docs' when either will do)."""
    fidelity = Fidelity.DEPLOYED if expect == "deployed" else Fidelity.DOCUMENTED
    return api_spec_for(Behaviour.of(fidelity))


@dataclass
class ProxyApp:
    settings: ProxySettings
    checker: ExchangeChecker
    violations: ViolationLog
    journal: RequestJournal
    forwarder: Forwarder
    control: Any
    control_routes: OperationRoutes
    recording: Recording | None = None
    _closed: bool = field(default=False, repr=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] != "http":
            return
        elif scope["path"].startswith("/_mock/") and self.control_routes.methods_of(scope["path"]):
            await self.control(scope, receive, send)
        else:
            await self.forwarder(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def aclose(self) -> None:
        """Stop: close the upstream client, the report, and write the recording."""
        if self._closed:
            return
        self._closed = True
        await self.forwarder.aclose()
        self.violations.close()
        if self.recording is not None:
            self.recording.close()

    def finished(self, done: Finished) -> int:
        """Journal, judge and record one exchange; how many violations it had."""
        exchange, verdict = done.exchange, done.verdict
        if self.recording is not None and not exchange.local:
            self.recording.add(exchange)
        if verdict.left_alone == "control-plane":
            return 0  # the upstream's control plane, or no API path: not journaled
        count = len(verdict.violations)
        number = self.journal.record(
            at_ms=exchange.at_ms,
            method=exchange.method,
            path=exchange.path,
            query=exchange.query,
            status=exchange.status,
            latency_ms=exchange.latency_ms,
            request_headers=_raw(exchange.request_headers),
            request_bytes=exchange.request_body.size,
            response_bytes=exchange.response_body.size,
            request_body=_capped(exchange.request_body.chunks),
            response_headers=_raw(exchange.response_headers),
            response_body=_capped(exchange.response_body.chunks),
            fault=exchange.response_header(FAULT_HEADER),  # the fake's rule, as its journal has it
            violations=count,
        )
        access_logger.info(
            '"%s %s" %d %.1fms %d violation(s)',
            exchange.method,
            exchange.path,
            exchange.status,
            exchange.latency_ms,
            count,
        )
        self.violations.note(refused=verdict.refused_request, left_alone=verdict.left_alone)
        for row, reading in verdict.readings:
            self.violations.read(row, reading)
        self.violations.add(
            verdict.violations,
            exchange=number,
            at_ms=exchange.at_ms,
            operation=exchange.operation,
            method=exchange.method,
            path=exchange.path,
            status=exchange.status,
        )
        return count


def _raw(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


def _capped(chunks: list[bytes], cap: int = 64 * 1024) -> list[bytes]:
    kept: list[bytes] = []
    size = 0
    for chunk in chunks:
        if size >= cap:
            break
        kept.append(chunk[: cap - size])
        size += len(kept[-1])
    return kept


def create_proxy(
    settings: ProxySettings,
    *,
    clock: Clock | None = None,
    recording: Recording | None = None,
    transport: Any = None,
) -> ProxyApp:
    """The proxy app. ``transport`` (an ``httpx`` transport) reaches the upstream in
    tests; ``recording`` defaults to one in ``settings.record``."""
    clock = clock or ControllableClock()
    expect: Expect = settings.expect  # type: ignore[assignment]
    checker = ExchangeChecker(checked_spec(settings.expect), expect)
    log = ViolationLog.writing_to(None if settings.report is None else Path(settings.report))
    journal = RequestJournal()
    if recording is None and settings.record is not None:
        from ..proxy.recording import Recorder

        recording = Recorder(Path(settings.record), settings.upstream)
    spec = control_spec()
    if settings.admin_token is None:
        spec.pop("security", None)
    control = connexion.AsyncApp(
        __name__, swagger_ui_options=SwaggerUIOptions(swagger_ui=False, serve_spec=False)
    )
    routes = OperationRoutes([("", spec)])
    control.add_api(
        spec,
        base_path="",
        resolver=handler_resolver(
            ProxyHandlers(
                log, upstream=settings.upstream, expect=settings.expect, strict=settings.strict
            ),
            JournalHandlers(journal, checker.spec.routes.operation_of),
        ),
        security_map={"bearer": admin_security_handler(settings.admin_token or "")},
    )
    render = error_handler(Behaviour.of(Fidelity.DOCUMENTED), methods_of=routes.methods_of)
    for failure in (Exception, ProblemException, HTTPException):
        control.add_error_handler(failure, render)
    client = None
    if transport is not None:
        import httpx

        client = httpx.AsyncClient(transport=transport, timeout=None)
    app = ProxyApp(
        settings=settings,
        checker=checker,
        violations=log,
        journal=journal,
        forwarder=None,  # type: ignore[arg-type]
        control=control,
        control_routes=routes,
        recording=recording,
    )
    app.forwarder = Forwarder(
        settings.upstream,
        checker,
        clock=clock,
        on_finished=app.finished,
        strict=settings.strict,
        client=client,
    )
    return app
