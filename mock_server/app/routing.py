"""The HTTP app: Connexion routing the four specs (the API, the control plane, the S2
endpoint, the object store) to their handlers, with the fake's validators, security and
error envelope in its seams."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import connexion
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import ProblemException
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException

from ..control.faults import add_rules, read_fault_file
from ..control.seeding import Seed
from ..core.fidelity import Behaviour
from ..core.settings import Settings
from ..core.specs import (
    OBJECTS_BASE_PATH,
    OBJECTS_SPEC_PATH,
    S2_SPEC_PATH,
    load_spec,
    operations,
)
from ..handlers.admin import AdminHandlers
from ..handlers.channels import ChannelHandlers
from ..handlers.failures import FailureHandlers
from ..handlers.journal import JournalHandlers
from ..handlers.limits import LimitsHandlers
from ..handlers.s2 import S2Handlers
from ..handlers.sessions import SessionHandlers
from ..handlers.snapshots import SnapshotHandlers
from ..handlers.ui import UiHandlers
from ..handlers.waitpoints import WaitpointHandlers
from ..http.bodies import JsonBodyValidator
from ..http.connexion_internals import add_api, middlewares, use_built_once_operations
from ..http.failures.reader import RuleReader
from ..http.forwarded import TrustedProxies
from ..http.queries import DeepObjectParser, QueryValidator
from ..http.responses import error_handler
from ..http.routes import OperationRoutes
from ..http.schema_issues import SchemaValidators
from ..http.security import (
    PUBLIC_TOKEN_SCHEME,
    admin_security_handler,
    api_security_handler,
    s2_security_handler,
)
from ..s2.names import S2_BASE_PATH
from .state import State


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
    routes: OperationRoutes,
) -> connexion.AsyncApp:
    """Connexion routing the four specs to their handlers."""
    behaviour = state.behaviour
    trusted = TrustedProxies.parse(settings.forwarded_allow_ips)
    body = functools.partial(JsonBodyValidator, behaviour=behaviour, validators=validators)
    app = connexion.AsyncApp(
        __name__,
        middlewares=middlewares(),  # no Swagger UI layer: no UI, no spec served
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
    add_api(
        app,
        load_spec(S2_SPEC_PATH),
        base_path=S2_BASE_PATH,
        resolver=handler_resolver(
            S2Handlers(state.channels, raw_names=behaviour.s2_stream_names_raw)
        ),
        security_map={"bearer": s2_security_handler(state.environments)},
    )
    snapshots = SnapshotHandlers(
        state.store,
        state.environments,
        state.clock,
        authorize_first=behaviour.authorization_before_existence,
        trusted=trusted,
    )
    add_api(
        app,
        load_spec(OBJECTS_SPEC_PATH),
        base_path=OBJECTS_BASE_PATH,
        resolver=handler_resolver(snapshots),
    )
    channels = ChannelHandlers(
        state.realtime,
        ping_seconds=settings.ping_seconds,
        trusted=trusted,
        flush_interval_ms=behaviour.s2_flush_interval_ms,
        raw_stream_names=behaviour.s2_stream_names_raw,
        authorize_first=behaviour.authorization_before_existence,
    )
    waitpoints = WaitpointHandlers(state.waitpoints, trusted)
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
    limits = LimitsHandlers(state.limits, state.bounds, state.channels, state.environments)
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
        limits=limits,
    )
    # The API comes last: Connexion's routers try the last API added first.
    add_api(
        app,
        admin_spec,
        base_path="",
        resolver=handler_resolver(
            admin,
            failures,
            limits,
            JournalHandlers(state.journal, routes.operation_of, trusted),
            UiHandlers(enabled=settings.ui),
        ),
        security_map={"bearer": admin_security_handler(settings.admin_token or "")},
    )
    add_api(
        app,
        api_spec,
        base_path="",
        resolver=handler_resolver(sessions, channels, snapshots, waitpoints),
        security_map={"bearer": api_bearer},
    )
    render = error_handler(behaviour, methods_of=routes.methods_of)
    for failure in (Exception, ProblemException, HTTPException):
        app.add_error_handler(failure, render)
    return app
