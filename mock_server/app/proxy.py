"""Assembling ``trigger-mock proxy``: the checker (the API's spec, as the mode it expects
reads it), the violation log, the journal, the forwarder, and the proxy's own control
plane (``openapi/proxy.yaml`` plus the journal's calls from ``openapi/admin.yaml``)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import connexion
from connexion.exceptions import ProblemException
from connexion.options import SwaggerUIOptions
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from ..core.clock import Clock, ControllableClock
from ..core.fidelity import Behaviour, Fidelity
from ..core.settings import ProxySettings
from ..core.specs import ADMIN_SPEC_PATH, PROXY_SPEC_PATH, api_spec_for, load_spec
from ..handlers.journal import JournalHandlers
from ..handlers.proxy import ProxyHandlers
from ..http.journal import RequestJournal
from ..http.responses import error_handler
from ..http.routes import OperationRoutes
from ..http.security import admin_security_handler
from ..proxy.checker import ExchangeChecker, Expect
from ..proxy.forward import Forwarder
from ..proxy.ledger import Ledger, Recording
from ..proxy.violations import ViolationLog
from .routing import handler_resolver

JOURNAL_PATHS = "/_mock/requests"


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
    """The assembled proxy: an ASGI app, and the parts the command line reads at stop."""

    settings: ProxySettings
    checker: ExchangeChecker
    ledger: Ledger
    forwarder: Forwarder
    control: Any
    control_routes: OperationRoutes
    _closed: bool = field(default=False, repr=False)

    @property
    def violations(self) -> ViolationLog:
        return self.ledger.violations

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
        self.ledger.close()


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
    ledger = Ledger(journal, log, recording)
    forwarder = Forwarder(
        settings.upstream,
        checker,
        clock=clock,
        on_finished=ledger.finished,
        strict=settings.strict,
        transport=transport,
    )
    return ProxyApp(settings, checker, ledger, forwarder, control, routes)
