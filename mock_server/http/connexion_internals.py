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
- Each spec checked against the OpenAPI schema once (:func:`load_specification`,
  :func:`add_api`): Connexion 3.3 checks a spec each time it reads one (the API's spec is
  read twice: Connexion's routing, the fast lane), with a pure-Python validator that takes
  most of the fake's start-up; :func:`_surely_valid` answers first, faster, for a spec it
  can vouch for, and Connexion's own check decides every other.
- Connexion's middleware stack without the Swagger UI layer (:func:`middlewares`).
- Connexion imported without what the fake never uses (:func:`_import_connexion_lean`: it
  runs before this module's first import of Connexion, so ``mock_server.app`` imports this
  module before anything else that imports Connexion).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import sys
import types
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import orjson
from starlette.types import Scope

ON_USE = ("httpx", "requests", "jinja2")
"""Imported by Connexion 3.3 when it is imported, used only on paths the fake never takes
(``connexion.security``: token-info URLs; ``connexion.json_schema``: remote ``$ref``s;
``connexion.spec``: templated spec files)."""


class _ImportedOnUse(types.ModuleType):
    """What Connexion's modules hold for a module of :data:`ON_USE`: the module itself is
    imported when one of its names is first read."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # the import system's questions: not a use
            raise AttributeError(name)
        if sys.modules.get(self.__name__) is self:  # a use while Connexion is imported
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), name)


def _imported_on_call(module: str, name: str) -> _ImportedOnUse:
    """A stand-in for ``module``, whose ``name`` (a class Connexion imports by name but the
    fake never calls) imports the real one when it is called."""

    def build(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    stand_in = _ImportedOnUse(module)
    setattr(stand_in, name, build)
    return stand_in


def _import_connexion_lean() -> None:
    """Import Connexion without Starlette's test client (``AbstractApp.test_client``; httpx
    behind it, and from Starlette 1.10 a deprecation warning), Starlette's templates (the
    Swagger UI's; jinja2 behind them) and the modules of :data:`ON_USE`, each imported
    when it is first used. The stand-ins are in ``sys.modules`` only while Connexion is
    imported: any later import gets the real module."""
    if "connexion" in sys.modules:
        return
    stand_ins = [
        *(_ImportedOnUse(name) for name in ON_USE),
        _imported_on_call("starlette.testclient", "TestClient"),
        _imported_on_call("starlette.templating", "Jinja2Templates"),
    ]
    stand_ins = [module for module in stand_ins if module.__name__ not in sys.modules]
    sys.modules.update((module.__name__, module) for module in stand_ins)
    try:
        import connexion.apps.abstract  # noqa: F401
    finally:
        for module in stand_ins:
            if sys.modules.get(module.__name__) is module:
                del sys.modules[module.__name__]


_import_connexion_lean()

import connexion  # noqa: E402
from connexion.apps.asynchronous import AsyncApi, AsyncOperation  # noqa: E402
from connexion.context import receive, scope  # noqa: E402
from connexion.decorators import StarletteDecorator  # noqa: E402
from connexion.decorators.parameter import (  # noqa: E402
    _get_path_arguments,
    _get_query_arguments,
    sanitized,
)
from connexion.json_schema import (  # noqa: E402
    Draft4RequestValidator,
    NullableTypeValidator,
    resolve_refs,
)
from connexion.middleware.abstract import ROUTING_CONTEXT  # noqa: E402
from connexion.middleware.main import API, ConnexionMiddleware  # noqa: E402
from connexion.middleware.swagger_ui import SwaggerUIMiddleware  # noqa: E402
from connexion.operations import OpenAPIOperation  # noqa: E402
from connexion.resolver import Resolver  # noqa: E402
from connexion.spec import OpenAPISpecification, Specification  # noqa: E402
from jsonschema import Draft4Validator  # noqa: E402
from jsonschema.validators import extend  # noqa: E402

__all__ = [
    "Draft4RequestValidator",
    "OpenAPIOperation",
    "add_api",
    "argument_name",
    "body_argument",
    "build_operation",
    "load_specification",
    "middlewares",
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


_CHECKED: set[bytes] = set()
"""Digests of the specs this process has found valid."""
_InstanceValidator = extend(Draft4Validator, {"type": NullableTypeValidator})
"""What Connexion 3.3 checks a ``default`` with (``connexion.spec.create_spec_validator``)."""


def _digest(spec: dict[str, Any]) -> bytes | None:
    try:
        return hashlib.sha256(orjson.dumps(spec, option=orjson.OPT_SORT_KEYS)).digest()
    except TypeError:  # a value JSON has no form for: checked every time
        return None


@functools.cache
def _openapi_schema_validator() -> Any:
    """The OpenAPI 3.0 schema Connexion checks specs against, compiled by jsonschema-rs as
    Connexion's ``Draft4Validator`` reads it (formats unchecked)."""
    return jsonschema_rs.Draft4Validator(
        OpenAPISpecification.openapi_schema, validate_formats=False
    )


def _holders_of_defaults(value: Any) -> Iterator[dict[str, Any]]:
    """Every object in ``value`` with a ``default`` key."""
    if isinstance(value, dict):
        if "default" in value:
            yield value
        for item in value.values():
            yield from _holders_of_defaults(item)
    elif isinstance(value, list):
        for item in value:
            yield from _holders_of_defaults(item)


def _surely_valid(spec: dict[str, Any]) -> bool:
    """Whether Connexion's check of ``spec`` would pass, where that is quick to know:
    ``False`` means "ask Connexion", never "invalid".

    Connexion 3.3 checks a spec against the OpenAPI schema with Python's ``jsonschema``
    (Draft 4), plus one rule of its own: an object whose properties pass, and that has a
    ``default``, must accept that default as a schema (checked with ``_InstanceValidator``,
    ``$ref``s read from the spec). This asks jsonschema-rs the first question, on the same
    schema under the same draft, and checks every ``default`` in the spec, which covers
    each one Connexion's rule reaches. Both yes: Connexion's check passes too (its rule
    can only turn a schema branch down, and every default it could object to is checked
    here). Some fifty times faster than Connexion's check on ``openapi.yaml``."""
    try:
        if not _openapi_schema_validator().is_valid(spec):
            return False
        validator = _InstanceValidator(spec)
        return all(
            validator.evolve(schema=holder).is_valid(holder["default"])
            for holder in _holders_of_defaults(spec)
        )
    except Exception:  # anything the quick check cannot read: Connexion's check decides
        return False


class _CheckedOnceSpecification(OpenAPISpecification):  # type: ignore[misc]
    """An OpenAPI 3 spec, checked as Connexion checks it, but once per content (a spec this
    process has found valid is not checked again; an invalid one always is), and by
    Connexion's own check only where :func:`_surely_valid` cannot vouch for it."""

    @classmethod
    def _validate_spec(cls, spec: dict[str, Any]) -> None:
        digest = _digest(spec)
        if digest is not None and digest in _CHECKED:
            return
        if not _surely_valid(spec):
            super()._validate_spec(spec)  # InvalidSpecification, with Connexion's message
        if digest is not None:
            _CHECKED.add(digest)


def _string_keys(value: Any) -> Any:
    """As ``Specification.from_dict`` reads a spec: YAML's integer keys (``200:``) as strings."""
    if isinstance(value, dict):
        return {str(key): _string_keys(item) for key, item in value.items()}
    return value


def load_specification(spec: dict[str, Any]) -> Specification:
    """Connexion's reading of a spec (checked, ``$ref``s resolved), as
    ``Specification.load`` gives it; the check against the OpenAPI schema runs once per
    content in a process (:class:`_CheckedOnceSpecification`)."""
    spec = _string_keys(spec)
    if Specification._get_spec_version(spec) < (3, 0, 0):
        return Specification.from_dict(spec)  # Swagger 2: as Connexion reads it
    return _CheckedOnceSpecification(spec)


def add_api(app: connexion.AsyncApp, spec: dict[str, Any], **options: Any) -> None:
    """``app.add_api(spec, **options)``, with the spec read by :func:`load_specification`
    (Connexion 3.3's ``ConnexionMiddleware.add_api`` reads it with ``Specification.load``,
    then registers it as this does)."""
    middleware = app.middleware
    if middleware.middleware_stack is not None:
        raise RuntimeError("Cannot add api after an application has started")
    base_path = options.pop("base_path", None)
    name = options.pop("name", None)
    registered = middleware.options.replace(**options)
    middleware.apis.append(
        API(load_specification(spec), base_path=base_path, name=name, **registered.__dict__)
    )


def middlewares() -> list[Any]:
    """Connexion 3.3's middleware stack (``AsyncApp(middlewares=...)``) without its Swagger
    UI layer, which serves nothing with ``swagger_ui=False, serve_spec=False`` but routes
    every request through a router of its own, and builds Starlette's templates (jinja2)
    for each API at start-up."""
    return [m for m in ConnexionMiddleware.default_middlewares if m is not SwaggerUIMiddleware]


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


def argument_name(parameter: str) -> str:
    """The handler argument Connexion passes the parameter ``parameter`` as."""
    return str(sanitized(parameter))


def body_argument(operation: OpenAPIOperation, media_type: str) -> str:
    """The name of the handler argument that receives the body."""
    return str(sanitized(operation.body_name(media_type)))
