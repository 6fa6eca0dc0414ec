"""The fast lane: the five session operations answered without Connexion's per-request
machinery, from the same spec and by the same parts.

Most of a Connexion request is spent in its layers: two routers, a security and a
validation middleware that build their validators on every request, a context, three
decorators. For the session operations the lane does the same work with everything built
once at start-up from ``openapi.yaml``: Connexion's own operation objects (parameters,
defaults, body schema), the fake's query and body validators, its secret-key check, the
same handler methods and the same error envelope.

A request takes the lane only when the lane's answer is sure to be Connexion's: a secret
key, ``application/json`` with a ``Content-Length`` within the limit, parameters and a
body that validate. Anything else (a public token, no key, a bad parameter or body,
another content type) goes to Connexion untouched, its body replayed, and is answered
there as before, errors included. Headers are read by :mod:`mock_server.http.headers`, as
the edge and the body validator read them.

:func:`compile_lane` refuses, at start-up, an operation whose answer it could not give
exactly (a header or cookie parameter, a body that is not JSON, a security scheme it does
not know), so the spec cannot grow a feature the lane would silently get wrong.
``tests/asgi/test_fast_lane.py`` sends the same requests both ways and compares the answers
byte for byte.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from connexion.resolver import Resolver
from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..auth.authenticator import Authenticator, Principal
from ..auth.tokens import bearer_credential, public_token_claims
from ..core.errors import ApiError
from ..core.fidelity import Behaviour
from .bodies import JsonBodyValidator, Recording, read_body
from .connexion_internals import (
    OpenAPIOperation,
    argument_name,
    body_argument,
    build_operation,
    load_specification,
    path_arguments,
    query_arguments,
)
from .headers import declared_length, first_values, media_type
from .queries import DeepObjectParser, QueryValidator
from .responses import error_response
from .schema_issues import SchemaValidators
from .security import PUBLIC_TOKEN_SCHEME, SECRET_KEY_SCHEME, token_info

LANE_OPERATIONS: Final = (
    "create_session_v1",
    "retrieve_session_v1",
    "list_sessions_v1",
    "update_session_v1",
    "close_session_v1",
)
JSON: Final = "application/json"
_KNOWN_SCHEMES: Final = frozenset({SECRET_KEY_SCHEME, PUBLIC_TOKEN_SCHEME})
MAX_KNOWN_QUERIES: Final = 256
"""Query strings an operation remembers the arguments of (all are let go past it)."""
_WANTED_HEADERS: Final = (b"authorization", b"content-type", b"content-length")
_PLAIN_KEYS: Final = frozenset({"in", "name", "required", "schema", "description", "example"})
Handler = Callable[..., Awaitable[Response]]


class LaneRefused(ValueError):
    """An operation the lane was asked to answer but could not answer exactly."""


@dataclass(frozen=True)
class LaneOperation:
    operation: OpenAPIOperation
    pattern: re.Pattern[str]
    handler: Handler
    arguments: list[str]
    uri_parser: DeepObjectParser
    parameters: QueryValidator
    body: JsonBodyValidator | None
    body_name: str
    has_query: bool
    queries: dict[bytes, Mapping[str, Any]] | None
    """For an operation whose parameters are all in the query: the handler's query
    arguments by query string, each worked out (parsed, validated, defaults filled) once."""
    plain_path: tuple[tuple[str, str], ...] | None
    """For an operation whose parameters (if any) are all in the path, each any non-empty
    string (a path segment always is): each parameter's name and its handler argument.
    Connexion's resolving, coercing and checking hand such a value on as it is, so the
    lane passes it straight through."""


def _pattern(path: str) -> re.Pattern[str]:
    """Starlette's reading of a path template: each ``{name}`` is one segment."""
    parts = re.split(r"\{([^}]+)\}", path)
    regex = "".join(
        re.escape(part) if n % 2 == 0 else f"(?P<{part}>[^/]+)" for n, part in enumerate(parts)
    )
    return re.compile(f"^{regex}$")


def _refusals(raw: dict[str, Any], shared: list[dict[str, Any]], spec: Any) -> list[str]:
    """Why the lane could not answer this operation (``shared``: its path's parameters) as
    Connexion would; empty when it can."""
    problems = []
    security = raw.get("security", spec.get("security", []))
    schemes = {name for alternative in security for name in alternative}
    if schemes - _KNOWN_SCHEMES:
        problems.append(f"security schemes it does not check: {sorted(schemes - _KNOWN_SCHEMES)}")
    if any(len(alternative) != 1 for alternative in security):
        problems.append("a security alternative that is not one scheme")
    if not any(SECRET_KEY_SCHEME in alternative for alternative in security):
        problems.append(f"no {SECRET_KEY_SCHEME} alternative (the lane answers secret keys)")
    places = {p.get("in") for p in [*shared, *raw.get("parameters", [])]} - {"path", "query"}
    if places:
        problems.append(f"parameters in {sorted(places)} (only path and query are read)")
    body_types = set(raw.get("requestBody", {}).get("content", {})) - {JSON}
    if body_types:
        problems.append(f"request bodies as {sorted(body_types)} (only {JSON} is read)")
    return problems


def compile_lane(
    spec: dict[str, Any],
    resolver: Resolver,
    *,
    parser_class: type[DeepObjectParser],
    validators: SchemaValidators,
    behaviour: Behaviour,
    operation_ids: tuple[str, ...] = LANE_OPERATIONS,
) -> dict[str, list[LaneOperation]]:
    """The lane's operations by HTTP method, built once from the spec. Raises
    :class:`LaneRefused` for an operation it cannot answer exactly, or cannot find."""
    specification = load_specification(spec)  # checked, with every $ref resolved
    lane: dict[str, list[LaneOperation]] = {}
    found = set()
    for path, item in specification["paths"].items():
        for method, raw in item.items():
            if not isinstance(raw, dict) or raw.get("operationId") not in operation_ids:
                continue
            found.add(raw["operationId"])
            problems = _refusals(raw, item.get("parameters", []), specification)
            if problems:
                raise LaneRefused(f"fast lane: {raw['operationId']} has " + "; ".join(problems))
            operation = build_operation(
                specification, path, method, resolver=resolver, uri_parser_class=parser_class
            )
            lane.setdefault(method.upper(), []).append(
                _lane_operation(operation, path, parser_class, validators, behaviour)
            )
    missing = sorted(set(operation_ids) - found)
    if missing:
        raise LaneRefused(f"fast lane: no operation {', '.join(missing)} in the spec")
    return lane


def _lane_operation(
    operation: OpenAPIOperation,
    path: str,
    parser_class: type[DeepObjectParser],
    validators: SchemaValidators,
    behaviour: Behaviour,
) -> LaneOperation:
    uri_parser = parser_class(operation.parameters, operation.body_definition())
    schema = operation.body_schema(JSON) if operation.request_body else None
    handler = operation.function
    has_query = any(p["in"] == "query" for p in operation.parameters)
    return LaneOperation(
        operation=operation,
        pattern=_pattern(path),
        handler=handler,
        arguments=list(inspect.signature(handler).parameters),
        uri_parser=uri_parser,
        parameters=QueryValidator(
            operation.parameters,
            uri_parser=uri_parser,
            strict_validation=False,
            security_query_params=[],
            validators=validators,
        ),
        body=None
        if not schema
        else JsonBodyValidator(
            schema=schema,
            required=operation.request_body.get("required", False),
            behaviour=behaviour,
            validators=validators,
        ),
        body_name=body_argument(operation, JSON) if schema else "",
        has_query=has_query,
        queries={} if has_query and all(p["in"] == "query" for p in operation.parameters) else None,
        plain_path=_plain_path(operation.parameters),
    )


def _plain_path(parameters: list[dict[str, Any]]) -> tuple[tuple[str, str], ...] | None:
    """:attr:`LaneOperation.plain_path` for these parameters, ``None`` if one is not plain."""
    if not all(_is_plain_path(p) for p in parameters):
        return None
    return tuple((p["name"], argument_name(p["name"])) for p in parameters)


def _is_plain_path(parameter: dict[str, Any]) -> bool:
    schema = parameter.get("schema", {})
    return (
        parameter["in"] == "path"
        and not set(parameter) - _PLAIN_KEYS
        and schema.get("type") == "string"
        and not set(schema) - {"type", "minLength"}
        and schema.get("minLength", 0) <= 1  # a segment matched by `[^/]+`
    )


class FastLane:
    """ASGI: the lane's operations answered here when it is sure of the answer, every
    other request passed to ``app`` (Connexion) as it came."""

    def __init__(
        self,
        app: ASGIApp,
        lane: dict[str, list[LaneOperation]],
        *,
        authenticator: Authenticator,
        behaviour: Behaviour,
    ) -> None:
        self.app = app
        self.lane = lane
        self.authenticator = authenticator
        self.behaviour = behaviour
        self.answered = 0
        """Requests the lane answered itself (the rest went to Connexion)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        candidates = self.lane.get(scope["method"]) if scope["type"] == "http" else None
        if not candidates or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        for candidate in candidates:
            match = candidate.pattern.match(scope["path"])
            if match:
                await self._serve(candidate, match.groupdict(), scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _serve(
        self,
        lane: LaneOperation,
        path_params: dict[str, str],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        authorization, content_type, length = first_values(scope["headers"], *_WANTED_HEADERS)
        credential = bearer_credential(authorization)
        if credential is None or public_token_claims(credential) is not None:
            await self.app(scope, receive, send)
            return
        body: Any = None
        if lane.body is not None:
            size = declared_length(length)
            if media_type(content_type) != JSON or not size or size > lane.body.max_bytes:
                await self.app(scope, receive, send)
                return
            recording = Recording(receive)
            try:
                body = lane.body.clean(await read_body(recording.receive, lane.body.max_bytes))
            except ApiError:  # Connexion answers it, reading the same messages again
                await self.app(scope, recording.replay(), send)
                return
            receive = recording.replay()
        if lane.plain_path is not None and not scope["query_string"]:
            kwargs = {argument: path_params[name] for name, argument in lane.plain_path}
            try:
                principal = self.authenticator.secret_key(credential, counted=False)
            except Exception:  # Connexion answers it, with the error it always gave
                await self.app(scope, receive, send)
                return
            await self._answer(lane, kwargs, principal, body, scope, receive, send)
            return
        query_string: bytes = scope["query_string"]
        known = None if lane.queries is None else lane.queries.get(query_string)
        try:
            principal = self.authenticator.secret_key(credential, counted=False)
            path = lane.uri_parser.resolve_path(path_params)
            if known is None:
                query = QueryParams(query_string) if lane.has_query else None
                resolved = {} if query is None else _resolve_query(lane.uri_parser, query)
                if lane.operation.parameters:
                    lane.parameters.validate_request(_Parameters(path, resolved))
        except Exception:  # Connexion answers it, with the error it always gave
            await self.app(scope, receive, send)
            return
        # What Connexion's parameter decorator passes: path values, query values over the
        # spec's defaults, and the JSON body as it is (it is never empty here).
        kwargs = path_arguments(path, lane.operation)
        if known is not None:
            kwargs.update(known)
        elif query is not None:
            arguments = query_arguments(resolved, lane.operation, lane.arguments)
            if lane.queries is not None:
                if len(lane.queries) >= MAX_KNOWN_QUERIES:
                    lane.queries.clear()
                lane.queries[query_string] = _frozen(arguments)
            kwargs.update(arguments)
        await self._answer(lane, kwargs, principal, body, scope, receive, send)

    async def _answer(
        self,
        lane: LaneOperation,
        kwargs: dict[str, Any],
        principal: Principal,
        body: Any,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        if lane.body is not None and lane.body_name in lane.arguments:
            kwargs[lane.body_name] = body
        info = token_info(principal)
        context = {"token_info": info, "user": info["sub"]}
        kwargs.update((key, value) for key, value in context.items() if key in lane.arguments)
        self.answered += 1
        try:
            response = await lane.handler(**kwargs)
        except Exception as exc:
            response = error_response(exc, self.behaviour)
        await response(scope, receive, send)


@dataclass(frozen=True, slots=True)
class _Parameters:
    """What the parameter validator reads of a request."""

    path_params: dict[str, Any]
    query_params: dict[str, Any]


def _frozen(value: Any) -> Any:
    """``value`` made read-only all the way down (it is handed to every request with the
    same query string)."""
    if isinstance(value, dict):
        return MappingProxyType({key: _frozen(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    return value


def _resolve_query(parser: DeepObjectParser, query: QueryParams) -> dict[str, Any]:
    resolved: dict[str, Any] = parser.resolve_query({k: query.getlist(k) for k in query})
    return resolved
