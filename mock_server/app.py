"""Assembling the server: Connexion routes ``openapi.yaml`` (and the control plane's
``openapi/admin.yaml``) to handler objects, with the fake's validators, security and
error envelope plugged into Connexion's seams, and a few ASGI layers around it."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import connexion
import yaml
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import ProblemException
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from .agent import Agent, Script
from .auth import Authenticator, Environments
from .bodies import JsonBodyValidator
from .channels import ChannelStore
from .clock import ControllableClock
from .config import Settings
from .fastlane import FastLane, compile_lane
from .fidelity import Behaviour
from .handlers.admin import AdminHandlers
from .handlers.channels import ChannelHandlers
from .handlers.sessions import SessionHandlers
from .ids import IdSource
from .journal import RequestJournal
from .middleware import AccessLog, AssumeJsonBodies, CanonicalPath, Cors
from .operations import BuiltOnceApi
from .persistence import StateFileError, load, restore
from .queries import DeepObjectParser, QueryValidator
from .realtime import Realtime
from .responses import error_handler
from .s2 import S2_BASE_PATH, S2Handlers
from .schema_issues import SchemaValidators
from .security import admin_security_handler, api_security_handler, s2_security_handler
from .seeding import Seed
from .store import SessionStore

PACKAGE_DIR = Path(__file__).resolve().parent
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def spec_path() -> Path:
    """``openapi.yaml``: the copy inside an installed wheel, else the repository's."""
    packaged = PACKAGE_DIR / "openapi.yaml"
    return packaged if packaged.exists() else PACKAGE_DIR.parent / "openapi.yaml"


def load_spec(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)
    assert isinstance(spec, dict)
    return spec


def operations(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (op["operationId"], op)
        for item in spec["paths"].values()
        for method, op in item.items()
        if method in HTTP_METHODS
    ]


def _handler_resolver(*handlers: object) -> Resolver:
    """Each operationId names a method of one of ``handlers``."""

    def resolve(operation_id: str) -> Any:
        for candidate in handlers:
            if hasattr(candidate, operation_id):
                return getattr(candidate, operation_id)
        raise AttributeError(f"no handler for operationId {operation_id!r}")

    return Resolver(function_resolver=resolve)


@dataclass
class TriggerMock:
    """The assembled server: an ASGI app plus the state tests and the CLI reach into."""

    settings: Settings
    behaviour: Behaviour
    store: SessionStore
    channels: ChannelStore
    realtime: Realtime
    agent: Agent
    journal: RequestJournal
    clock: ControllableClock
    environments: Environments
    authenticator: Authenticator
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
) -> TriggerMock:
    settings = settings or Settings()
    behaviour = Behaviour.of(settings.fidelity)
    clock = clock or ControllableClock()
    ids = ids or IdSource(clock, settings.seed)
    environments = Environments(settings.secret_keys)
    authenticator = Authenticator(environments, clock)
    store = SessionStore(
        clock,
        ids,
        refresh_trigger_config_on_cached_create=behaviour.cached_create_refreshes_trigger_config,
        deployed_edge_cursors=behaviour.edge_cursors_deployed_style,
    )
    channels = ChannelStore(clock)
    realtime = Realtime(store, channels, ids, clock)
    agent = Agent(
        realtime,
        authenticator,
        ids,
        script=Script() if settings.agent in ("off", "echo") else Script.load(Path(settings.agent)),
        delay_seconds=settings.agent_delay_ms / 1000,
    )
    if settings.agent != "off":
        agent.attach()
    api_spec = load_spec(spec_path())
    seed = None if settings.seed_file is None else Seed.load(Path(settings.seed_file), api_spec)
    restored = False
    if settings.state_file is not None:
        state_path = Path(settings.state_file)
        if state_path.exists():
            restore(load(state_path), store, channels, environments, ids)
            restored = True
        elif not state_path.parent.is_dir():
            raise StateFileError(f"no directory {state_path.parent} for the state file")
    if seed is not None and not restored:
        seed.apply(realtime, environments)
    if behaviour.bad_period_ignored:
        # The deployed server reads any period string and ignores what it cannot parse.
        filters = api_spec["components"]["schemas"]["SessionsFilter"]["properties"]
        del filters["createdAt"]["properties"]["period"]["pattern"]
    api_operations = operations(api_spec)
    session_handlers = SessionHandlers(store, authenticator, behaviour, realtime)
    public_operations = frozenset(
        op_id
        for op_id, op in api_operations
        if any("publicAccessToken" in alternative for alternative in op.get("security", ()))
    )

    validators = SchemaValidators()
    body_validator = functools.partial(
        JsonBodyValidator, behaviour=behaviour, validators=validators
    )
    validator_map = {
        "parameter": functools.partial(QueryValidator, validators=validators),
        # JSON bodies everywhere; any type for the raw records channels take.
        "body": MediaTypeDict({"*/*json": body_validator, "*/*": body_validator}),
    }
    parser = type(
        "QueryParser", (DeepObjectParser,), {"split_lists": behaviour.split_comma_filters}
    )
    app = connexion.AsyncApp(
        __name__,
        swagger_ui_options=SwaggerUIOptions(swagger_ui=False, serve_spec=False),
        validate_responses=settings.validate_responses,
        validator_map=validator_map,
        uri_parser_class=parser,
        strict_validation=False,
    )
    # Set before any add_api: Connexion keeps no public seam for its operation class.
    app._middleware_app.api_cls = BuiltOnceApi
    # Connexion chains APIs that share a base path but loses all but the last two, so the
    # S2 endpoint gets its own base path, and comes first (a mount at "" matches anything).
    app.add_api(
        load_spec(PACKAGE_DIR / "openapi" / "s2.yaml"),
        base_path=S2_BASE_PATH,
        resolver=_handler_resolver(S2Handlers(channels)),
        security_map={"bearer": s2_security_handler(environments)},
    )
    app.add_api(
        api_spec,
        base_path="",
        resolver=_handler_resolver(
            session_handlers,
            ChannelHandlers(realtime, ping_seconds=settings.ping_seconds, s2_port=settings.s2_port),
        ),
        security_map={
            "bearer": api_security_handler(
                authenticator,
                public_operations=public_operations,
                extra_public_operations=behaviour.public_token_operations,
            )
        },
    )
    admin_spec = load_spec(PACKAGE_DIR / "openapi" / "admin.yaml")
    if settings.admin_token is None:
        admin_spec.pop("security", None)
    journal = RequestJournal()
    admin = AdminHandlers(
        store,
        clock,
        environments,
        behaviour,
        realtime=realtime,
        agent=agent,
        journal=journal,
        seed=seed,
        admin_token_required=settings.admin_token is not None,
    )
    app.add_api(
        admin_spec,
        base_path="",
        resolver=_handler_resolver(admin),
        security_map={"bearer": admin_security_handler(settings.admin_token or "")},
    )
    render = error_handler(behaviour)
    for failure in (Exception, ProblemException, HTTPException):
        app.add_error_handler(failure, render)

    asgi: ASGIApp = app
    fast_lane = None
    if settings.fast_lane and not settings.validate_responses:
        lane = compile_lane(
            api_spec,
            _handler_resolver(session_handlers),
            parser_class=parser,
            validators=validators,
            behaviour=behaviour,
        )
        asgi = fast_lane = FastLane(asgi, lane, authenticator=authenticator, behaviour=behaviour)
    if not behaviour.content_type_checked:
        asgi = AssumeJsonBodies(asgi)
    asgi = AccessLog(Cors(CanonicalPath(asgi, behaviour=behaviour)), journal=journal, clock=clock)
    return TriggerMock(
        settings=settings,
        behaviour=behaviour,
        store=store,
        channels=channels,
        realtime=realtime,
        agent=agent,
        journal=journal,
        clock=clock,
        environments=environments,
        authenticator=authenticator,
        operation_ids=[op_id for op_id, _ in api_operations],
        validators=validators,
        lane=fast_lane,
        asgi=asgi,
    )
