"""Every use of Connexion's private API, in one place.

Connexion 3.3 has public seams for what the fake plugs in (validators, URI parser, security
handlers, error handlers, resolver); the rest of :mod:`mock_server` uses only those. What
they do not reach is here, pinned to Connexion 3.3 (``pyproject.toml``), so an upgrade has
one module to check. ``tests/unit/test_connexion_seams.py`` fails if another module imports a
Connexion module or name that is not public.

- Operations that build their decorator chain once: Connexion 3.3's ``AsyncOperation``
  rebuilds it (three ``functools.wraps``, an ``inspect.signature`` and the operation's URI
  parser) on every call, although it depends only on the operation.
- The operation a request was routed to (for the security handler).
- For the fast lane: Connexion's own operation objects and the argument helpers its
  parameter decorator uses, so the lane passes a handler what Connexion would.
- Connexion's request-body JSON Schema validator and ``$ref`` resolver, so the fake checks
  schemas with Connexion's semantics.
"""

from __future__ import annotations

import functools
from typing import Any

import connexion
from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.context import receive, scope
from connexion.decorators import StarletteDecorator
from connexion.decorators.parameter import _get_path_arguments, _get_query_arguments, sanitized
from connexion.json_schema import Draft4RequestValidator, resolve_refs
from connexion.middleware.abstract import ROUTING_CONTEXT
from connexion.operations import OpenAPIOperation
from connexion.resolver import Resolver
from connexion.spec import Specification
from starlette.types import Scope

__all__ = [
    "Draft4RequestValidator",
    "OpenAPIOperation",
    "body_argument",
    "build_operation",
    "load_specification",
    "path_arguments",
    "query_arguments",
    "resolve_refs",
    "routed_operation_id",
    "use_built_once_operations",
]


class _BuiltOnceDecorator(StarletteDecorator):  # type: ignore[misc]
    def __call__(self, function: Any) -> Any:
        decorated = self.decorate(function)
        parsers: list[Any] = []

        @functools.wraps(function)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not parsers:  # the operation is only in context during a request
                parsers.append(self.uri_parser)
            request = self.framework.get_request(
                uri_parser=parsers[0], scope=scope, receive=receive
            )
            # No operation of the fake's takes a form, so a form Content-Type must not make
            # Connexion parse the body as one (a multipart type without a boundary is a 400).
            request._form, request._files = {}, {}
            return await decorated(request)

        return wrapper


class _BuiltOnceOperation(AsyncOperation):  # type: ignore[misc]
    @functools.cached_property
    def fn(self) -> Any:
        decorator = _BuiltOnceDecorator(
            pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )
        return decorator(self._fn)


class _BuiltOnceApi(AsyncApi):  # type: ignore[misc]
    def make_operation(self, operation: Any) -> _BuiltOnceOperation:
        built: _BuiltOnceOperation = _BuiltOnceOperation.from_operation(
            operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )
        return built


def use_built_once_operations(app: connexion.AsyncApp) -> None:
    """Make ``app`` build each operation's chain once. Call it before any ``add_api``:
    Connexion keeps no public seam for its operation class."""
    app._middleware_app.api_cls = _BuiltOnceApi


def routed_operation_id(request_scope: Scope) -> str | None:
    """The operationId Connexion routed this request to."""
    routing = request_scope.get("extensions", {}).get(ROUTING_CONTEXT, {})
    return routing.get("operation_id")  # type: ignore[no-any-return]


def load_specification(spec: dict[str, Any]) -> Specification:
    """Connexion's reading of a spec (checked, ``$ref``s resolved)."""
    return Specification.load(spec)


def build_operation(
    specification: Specification,
    path: str,
    method: str,
    *,
    resolver: Resolver,
    uri_parser_class: type[Any],
) -> OpenAPIOperation:
    """Connexion's operation object for one path and method."""
    return OpenAPIOperation.from_spec(
        specification,
        path=path,
        method=method,
        resolver=resolver,
        uri_parser_class=uri_parser_class,
    )


def path_arguments(path_params: dict[str, Any], operation: OpenAPIOperation) -> dict[str, Any]:
    """The handler's path arguments, as Connexion's parameter decorator passes them."""
    found: dict[str, Any] = _get_path_arguments(
        path_params, operation=operation, sanitize=sanitized
    )
    return found


def query_arguments(
    query: dict[str, Any], operation: OpenAPIOperation, arguments: list[str]
) -> dict[str, Any]:
    """The handler's query arguments (the spec's defaults filled in), as Connexion's
    parameter decorator passes them."""
    found: dict[str, Any] = _get_query_arguments(
        query, operation=operation, arguments=arguments, has_kwargs=False, sanitize=sanitized
    )
    return found


def body_argument(operation: OpenAPIOperation, media_type: str) -> str:
    """The name of the handler argument that receives the body."""
    return str(sanitized(operation.body_name(media_type)))
