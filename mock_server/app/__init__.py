"""Assembling the server, in named steps: the state (stores, clock, ids, credentials), its
initial content (a state file or a seed), the HTTP app (Connexion routing the specs to the
handlers, with the fake's validators, security and error envelope in its seams, and the
fast lane in front), and the edge around it all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# First: Connexion imported as the fake needs it, before anything else imports it.
from ..http import connexion_internals  # noqa: F401  # isort: skip

from starlette.types import ASGIApp, Receive, Scope, Send

from ..core.clock import ControllableClock
from ..core.ids import IdSource
from ..core.settings import Settings
from ..core.specs import (
    ADMIN_SPEC_PATH,
    OBJECTS_BASE_PATH,
    OBJECTS_SPEC_PATH,
    S2_SPEC_PATH,
    api_spec_for,
    load_spec,
    operations,
)
from ..handlers.sessions import SessionHandlers
from ..http.cors import Cors
from ..http.deployed_edge import (
    ActionOnlyRoutes,
    AssumeJsonBodies,
    DeployedEdge,
    MissingAuthorization,
)
from ..http.edge import Edge
from ..http.failures.layer import Failures
from ..http.fastlane import FastLane, compile_lane
from ..http.paths import CanonicalPath
from ..http.queries import DeepObjectParser
from ..http.routes import OperationRoutes
from ..http.schema_issues import SchemaValidators
from ..s2.names import S2_BASE_PATH
from .routing import connexion_app, failure_handlers, handler_resolver, query_parser
from .state import State, build_state, fill_state

__all__ = [
    "MockApp",
    "State",
    "build_state",
    "connexion_app",
    "create_app",
    "edge",
    "fast_lane",
    "fill_state",
    "handler_resolver",
    "query_parser",
]


@dataclass
class MockApp:
    """The assembled server: an ASGI app, and the state tests and the CLI reach into."""

    settings: Settings
    state: State
    operation_ids: list[str]
    validators: SchemaValidators
    lane: FastLane | None
    asgi: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.asgi(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    *,
    clock: ControllableClock | None = None,
    ids: IdSource | None = None,
) -> MockApp:
    settings = settings or Settings()
    state = build_state(settings, clock, ids)
    api_spec = api_spec_for(state.behaviour)
    seed = fill_state(settings, state, api_spec)
    routes = OperationRoutes(
        [
            ("", api_spec),
            (S2_BASE_PATH, load_spec(S2_SPEC_PATH)),
            (OBJECTS_BASE_PATH, load_spec(OBJECTS_SPEC_PATH)),
        ]
    )
    admin_spec = load_spec(ADMIN_SPEC_PATH)
    failures = failure_handlers(settings, state, admin_spec, routes)
    validators = SchemaValidators()
    parser = query_parser(state.behaviour)
    sessions = SessionHandlers(state.store, state.authenticator, state.behaviour)
    app = connexion_app(
        settings, state, api_spec, admin_spec, seed, sessions, failures, validators, parser, routes
    )
    lane = None
    if settings.fast_lane and not settings.validate_responses:  # else Connexion checks all
        lane = fast_lane(app, state, api_spec, sessions, validators, parser)
    return MockApp(
        settings=settings,
        state=state,
        operation_ids=[op_id for op_id, _ in operations(api_spec)],
        validators=validators,
        lane=lane,
        asgi=edge(lane or app, state, routes),
    )


def fast_lane(
    app: ASGIApp,
    state: State,
    api_spec: dict[str, Any],
    sessions: SessionHandlers,
    validators: SchemaValidators,
    parser: type[DeepObjectParser],
) -> FastLane:
    """The session operations answered in front of ``app``, by the same handlers."""
    compiled = compile_lane(
        api_spec,
        handler_resolver(sessions),
        parser_class=parser,
        validators=validators,
        behaviour=state.behaviour,
    )
    return FastLane(app, compiled, authenticator=state.authenticator, behaviour=state.behaviour)


def edge(app: ASGIApp, state: State, routes: OperationRoutes) -> Edge:
    """The layer every request meets first (:class:`~mock_server.http.edge.Edge`): access
    log and journal, then either its direct route to ``app`` (CORS and the path done in
    it) or the layered one: failures on demand (faults, the rate limiter), the deployed
    server's own layers, CORS, path decoding, and (deployed mode) every body read as JSON."""
    behaviour = state.behaviour
    if not behaviour.content_type_checked:
        app = AssumeJsonBodies(app)
    layered: ASGIApp = Cors(CanonicalPath(app, behaviour=behaviour))
    if behaviour.action_only_loader_405:
        layered = ActionOnlyRoutes(layered, methods_of=routes.methods_of)
    if behaviour.missing_authorization_problem:
        layered = MissingAuthorization(layered)
    failures = Failures(
        layered,
        book=state.faults,
        limiter=state.limiter,
        operation_of=routes.operation_of,
        clock=state.clock,
    )
    return Edge(
        api=app,
        layered=DeployedEdge(failures) if behaviour.deployed_edge else failures,
        failures=failures,
        direct=not (
            behaviour.deployed_edge
            or behaviour.action_only_loader_405
            or behaviour.missing_authorization_problem
        ),
        journal=state.journal,
        clock=state.clock,
        behaviour=behaviour,
    )
