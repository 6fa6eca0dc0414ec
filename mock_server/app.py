"""Assembling the server, in named steps: the state (stores, clock, ids, credentials), its
initial content (a state file or a seed), the HTTP app (Connexion routing the specs to the
handlers, with the fake's validators, security and error envelope in its seams, and the
fast lane in front), and the edge around it all."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import connexion
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import ProblemException
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from .auth.authenticator import Authenticator
from .auth.environments import Environments
from .auth.ratelimit import LimitPolicy, RateLimiter
from .channels.agent import Agent, Script
from .channels.realtime import Realtime
from .channels.streams import ChannelStore
from .control.faults import add_rules, read_fault_file
from .control.persistence import StateFileError, load, restore
from .control.seeding import Seed
from .core.clock import ControllableClock
from .core.fidelity import Behaviour
from .core.ids import IdSource
from .core.settings import Settings
from .core.specs import ADMIN_SPEC_PATH, S2_SPEC_PATH, api_spec_for, load_spec, operations
from .handlers.admin import AdminHandlers
from .handlers.channels import ChannelHandlers
from .handlers.failures import FailureHandlers
from .handlers.s2 import S2Handlers
from .handlers.sessions import SessionHandlers
from .http.bodies import JsonBodyValidator
from .http.connexion_internals import use_built_once_operations
from .http.deployed_edge import DeployedEdge, MissingAuthorization
from .http.edge import AccessLog, AssumeJsonBodies, CanonicalPath, Cors
from .http.failures.layer import Failures
from .http.failures.reader import RuleReader
from .http.failures.rules import FaultBook
from .http.fastlane import FastLane, compile_lane
from .http.journal import RequestJournal
from .http.queries import DeepObjectParser, QueryValidator
from .http.responses import error_handler
from .http.routes import OperationRoutes
from .http.schema_issues import SchemaValidators
from .http.security import (
    PUBLIC_TOKEN_SCHEME,
    admin_security_handler,
    api_security_handler,
    s2_security_handler,
)
from .s2.names import S2_BASE_PATH
from .sessions.store import SessionStore


@dataclass
class State:
    """Everything the fake knows and the parts that change it, with no HTTP in it."""

    behaviour: Behaviour
    clock: ControllableClock
    ids: IdSource
    environments: Environments
    authenticator: Authenticator
    store: SessionStore
    channels: ChannelStore
    realtime: Realtime
    agent: Agent
    journal: RequestJournal
    faults: FaultBook
    limiter: RateLimiter


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
    routes = OperationRoutes([("", api_spec), (S2_BASE_PATH, load_spec(S2_SPEC_PATH))])
    admin_spec = load_spec(ADMIN_SPEC_PATH)
    failures = failure_handlers(settings, state, admin_spec, routes)
    validators = SchemaValidators()
    parser = query_parser(state.behaviour)
    sessions = SessionHandlers(state.store, state.authenticator, state.behaviour)
    app = connexion_app(
        settings, state, api_spec, admin_spec, seed, sessions, failures, validators, parser
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


def build_state(settings: Settings, clock: ControllableClock | None, ids: IdSource | None) -> State:
    """Empty stores, the clock, ids and credentials, wired to each other."""
    behaviour = Behaviour.of(settings.fidelity)
    clock = clock or ControllableClock()
    ids = ids or IdSource(clock, settings.seed)
    environments = Environments(settings.secret_keys)
    authenticator = Authenticator(environments, clock, algorithms=behaviour.jwt_algorithms)
    store = SessionStore(
        clock,
        ids,
        refresh_trigger_config_on_cached_create=behaviour.cached_create_refreshes_trigger_config,
        deployed_edge_cursors=behaviour.edge_cursors_deployed_style,
    )
    channels = ChannelStore(clock)
    realtime = Realtime(store, channels, ids, clock)
    script = Script() if settings.agent in ("off", "echo") else Script.load(Path(settings.agent))
    agent = Agent(
        realtime, authenticator, ids, script=script, delay_seconds=settings.agent_delay_ms / 1000
    )
    if settings.agent != "off":
        agent.attach()
    limiter = RateLimiter(LimitPolicy.parse(settings.rate_limit), authenticator, clock)
    return State(
        behaviour, clock, ids, environments, authenticator, store, channels, realtime, agent,
        RequestJournal(), FaultBook(), limiter,
    )  # fmt: skip


def fill_state(settings: Settings, state: State, api_spec: dict[str, Any]) -> Seed | None:
    """The state file's content if it exists, else the seed file's; the seed, which a full
    reset applies again."""
    seed = None if settings.seed_file is None else Seed.load(Path(settings.seed_file), api_spec)
    if settings.state_file is not None:
        state_path = Path(settings.state_file)
        if state_path.exists():
            restore(load(state_path), state.store, state.channels, state.environments, state.ids)
            return seed
        if not state_path.parent.is_dir():
            raise StateFileError(f"no directory {state_path.parent} for the state file")
    if seed is not None:
        seed.apply(state.realtime, state.environments)
    return seed


def failure_handlers(
    settings: Settings, state: State, admin_spec: dict[str, Any], routes: OperationRoutes
) -> FailureHandlers:
    """The fault rules and the limiter's control, with the ``--faults`` file's rules in
    force."""
    reader = RuleReader(admin_spec["components"]["schemas"]["FaultRule"], routes.ids)
    start_rules = (
        [] if settings.faults_file is None else read_fault_file(Path(settings.faults_file), reader)
    )
    add_rules(start_rules, reader, state.faults)
    return FailureHandlers(
        state.faults,
        reader,
        state.limiter,
        start_rules=start_rules,
        start_policy=state.limiter.policy,
    )


def query_parser(behaviour: Behaviour) -> type[DeepObjectParser]:
    return type("QueryParser", (DeepObjectParser,), {"split_lists": behaviour.split_comma_filters})


def handler_resolver(*handlers: object) -> Resolver:
    """Each operationId names a method of one of ``handlers``."""

    def resolve(operation_id: str) -> Any:
        for candidate in handlers:
            if hasattr(candidate, operation_id):
                return getattr(candidate, operation_id)
        raise AttributeError(f"no handler for operationId {operation_id!r}")

    return Resolver(function_resolver=resolve)


def connexion_app(
    settings: Settings,
    state: State,
    api_spec: dict[str, Any],
    admin_spec: dict[str, Any],
    seed: Seed | None,
    sessions: SessionHandlers,
    failures: FailureHandlers,
    validators: SchemaValidators,
    parser: type[DeepObjectParser],
) -> connexion.AsyncApp:
    """Connexion routing the three specs to their handlers."""
    behaviour = state.behaviour
    body = functools.partial(JsonBodyValidator, behaviour=behaviour, validators=validators)
    app = connexion.AsyncApp(
        __name__,
        swagger_ui_options=SwaggerUIOptions(swagger_ui=False, serve_spec=False),
        validate_responses=settings.validate_responses,
        validator_map={
            "parameter": functools.partial(QueryValidator, validators=validators),
            # JSON bodies everywhere; any type for the raw records channels take.
            "body": MediaTypeDict({"*/*json": body, "*/*": body}),
        },
        uri_parser_class=parser,
        strict_validation=False,
    )
    use_built_once_operations(app)
    # Connexion chains APIs that share a base path but loses all but the last two, so the
    # S2 endpoint gets its own base path, and comes first (a mount at "" matches anything).
    app.add_api(
        load_spec(S2_SPEC_PATH),
        base_path=S2_BASE_PATH,
        resolver=handler_resolver(
            S2Handlers(state.channels, raw_names=behaviour.s2_stream_names_raw)
        ),
        security_map={"bearer": s2_security_handler(state.environments)},
    )
    channels = ChannelHandlers(
        state.realtime,
        ping_seconds=settings.ping_seconds,
        s2_port=settings.s2_port,
        flush_interval_ms=behaviour.s2_flush_interval_ms,
        raw_stream_names=behaviour.s2_stream_names_raw,
        authorize_first=behaviour.authorization_before_existence,
    )
    public_operations = frozenset(
        op_id
        for op_id, op in operations(api_spec)
        if any(PUBLIC_TOKEN_SCHEME in alternative for alternative in op.get("security", ()))
    )
    api_bearer = api_security_handler(
        state.authenticator,
        public_operations=public_operations,
        extra_public_operations=behaviour.public_token_operations,
        claims_refused_as_deployed=behaviour.claims_refused_as_deployed,
    )
    if settings.admin_token is None:
        admin_spec.pop("security", None)
    admin = AdminHandlers(
        state.store,
        state.clock,
        state.environments,
        behaviour,
        realtime=state.realtime,
        agent=state.agent,
        journal=state.journal,
        seed=seed,
        admin_token_required=settings.admin_token is not None,
        failures=failures,
    )
    # The API comes last: Connexion's routers try the last API added first.
    app.add_api(
        admin_spec,
        base_path="",
        resolver=handler_resolver(admin, failures),
        security_map={"bearer": admin_security_handler(settings.admin_token or "")},
    )
    app.add_api(
        api_spec,
        base_path="",
        resolver=handler_resolver(sessions, channels),
        security_map={"bearer": api_bearer},
    )
    render = error_handler(behaviour)
    for failure in (Exception, ProblemException, HTTPException):
        app.add_error_handler(failure, render)
    return app


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


def edge(app: ASGIApp, state: State, routes: OperationRoutes) -> ASGIApp:
    """The layers every request passes first: access log and journal, failures on demand
    (faults, the rate limiter), CORS, path decoding, and (deployed mode) every body read
    as JSON."""
    if not state.behaviour.content_type_checked:
        app = AssumeJsonBodies(app)
    app = CanonicalPath(app, behaviour=state.behaviour)
    app = Cors(app)
    if state.behaviour.missing_authorization_problem:
        app = MissingAuthorization(app)
    failures = Failures(
        app,
        book=state.faults,
        limiter=state.limiter,
        operation_of=routes.operation_of,
        clock=state.clock,
    )
    outer: ASGIApp = DeployedEdge(failures) if state.behaviour.deployed_edge else failures
    return AccessLog(outer, journal=state.journal, clock=state.clock)
