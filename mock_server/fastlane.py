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
there as before, errors included. ``tests/test_fast_lane.py`` sends the same requests
both ways and compares the answers byte for byte.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from connexion.decorators.parameter import (
    _get_path_arguments,
    _get_query_arguments,
    sanitized,
)
from connexion.operations import OpenAPIOperation
from connexion.resolver import Resolver
from connexion.spec import Specification
from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import Authenticator, bearer_credential, public_token_claims
from .bodies import JsonBodyValidator
from .errors import ApiError
from .fidelity import Behaviour
from .queries import DeepObjectParser, QueryValidator
from .responses import error_response
from .schema_issues import SchemaValidators
from .security import token_info

LANE_OPERATIONS: Final = (
    "create_session_v1",
    "retrieve_session_v1",
    "list_sessions_v1",
    "update_session_v1",
    "close_session_v1",
)
JSON: Final = "application/json"
Handler = Callable[..., Awaitable[Response]]


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


def _pattern(path: str) -> re.Pattern[str]:
    """Starlette's reading of a path template: each ``{name}`` is one segment."""
    parts = re.split(r"\{([^}]+)\}", path)
    regex = "".join(
        re.escape(part) if n % 2 == 0 else f"(?P<{part}>[^/]+)" for n, part in enumerate(parts)
    )
    return re.compile(f"^{regex}$")


def compile_lane(
    spec: dict[str, Any],
    resolver: Resolver,
    *,
    parser_class: type[DeepObjectParser],
    validators: SchemaValidators,
    behaviour: Behaviour,
) -> dict[str, list[LaneOperation]]:
    """The lane's operations by HTTP method, built once from the spec."""
    specification = Specification.load(spec)
    lane: dict[str, list[LaneOperation]] = {}
    for path, item in spec["paths"].items():
        for method, raw in item.items():
            if not isinstance(raw, dict) or raw.get("operationId") not in LANE_OPERATIONS:
                continue
            if not any("secretKey" in alternative for alternative in raw.get("security", ())):
                continue
            operation = OpenAPIOperation.from_spec(
                specification, path=path, method=method, resolver=resolver,
                uri_parser_class=parser_class,
            )  # fmt: skip
            uri_parser = parser_class(operation.parameters, operation.body_definition())
            schema = operation.body_schema(JSON) if operation.request_body else None
            handler = operation.function
            lane.setdefault(method.upper(), []).append(
                LaneOperation(
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
                    body_name=sanitized(operation.body_name(JSON)) if schema else "",
                    has_query=any(p["in"] == "query" for p in operation.parameters),
                )
            )
    return lane


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
        authorization = content_type = length = None
        for name, value in reversed(scope["headers"]):  # the first of repeated headers wins
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"content-length":
                length = value.decode("latin-1")
        credential = bearer_credential(authorization)
        if credential is None or public_token_claims(credential) is not None:
            await self.app(scope, receive, send)
            return
        body: Any = None
        if lane.body is not None:
            mime = (content_type or "").split(";", 1)[0].strip().lower()
            if mime != JSON or not length or not length.isdigit():
                await self.app(scope, receive, send)
                return
            if not 0 < int(length) <= lane.body.max_bytes:
                await self.app(scope, receive, send)
                return
            raw, receive = await _read(receive)
            try:
                body = None if raw is None else lane.body.clean(raw)
            except ApiError:
                body = None
            if body is None:
                await self.app(scope, receive, send)
                return
        query = QueryParams(scope["query_string"]) if lane.has_query else None
        try:
            principal = self.authenticator.secret_key(credential)
            path = lane.uri_parser.resolve_path(path_params)
            resolved = {} if query is None else _resolve_query(lane.uri_parser, query)
            if lane.operation.parameters:
                lane.parameters.validate_request(_Parameters(path, resolved))
        except Exception:  # Connexion answers it, with the error it always gave
            await self.app(scope, receive, send)
            return
        # What Connexion's parameter decorator passes: path values, query values over the
        # spec's defaults, and the JSON body as it is (it is never empty here).
        kwargs = _get_path_arguments(path, operation=lane.operation, sanitize=sanitized)
        if query is not None:
            kwargs.update(
                _get_query_arguments(
                    resolved,
                    operation=lane.operation,
                    arguments=lane.arguments,
                    has_kwargs=False,
                    sanitize=sanitized,
                )
            )
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


def _resolve_query(parser: DeepObjectParser, query: QueryParams) -> dict[str, Any]:
    resolved: dict[str, Any] = parser.resolve_query({k: query.getlist(k) for k in query})
    return resolved


async def _read(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole body (``None`` if the client left first), and a receive channel that
    gives the same messages again, for Connexion when the lane passes the request on."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    pending = list(messages)

    async def again() -> Message:
        return pending.pop(0) if pending else await receive()

    if messages[-1]["type"] != "http.request":
        return None, again
    return b"".join(m.get("body", b"") for m in messages), again
