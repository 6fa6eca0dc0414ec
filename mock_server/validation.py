"""Request validation from the spec, answered in the API's own error shapes.

Connexion drives validation from ``openapi.yaml``; these classes plug into its
``validator_map`` and ``uri_parser_class`` seams so that:

* bodies are read with their size limit (``x-max-body-bytes`` on the body schema) enforced
  on the bytes as they arrive, decoded strictly, validated with every problem reported as a
  zod-style :class:`Issue`, stripped of unknown keys (as the server's zod schemas do) and
  replayed to the handler;
* ``page[…]`` / ``filter[…]`` deep-object queries are parsed with repeated keys and
  (where the mode says so) comma lists, and their problems come back as a Query Error.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from connexion.json_schema import Draft4RequestValidator
from connexion.uri_parsing import OpenAPIURIParser
from connexion.validators import AbstractRequestBodyValidator, ParameterValidator
from jsonschema import FormatChecker, ValidationError
from starlette.datastructures import Headers
from starlette.types import Message, Receive, Scope

from .errors import (
    BodyTooLarge,
    EmptyBody,
    InvalidJson,
    Issue,
    ParamsError,
    QueryError,
    ValidationFailed,
)
from .fidelity import Behaviour

DEFAULT_MAX_BODY_BYTES: Final = 1 << 20
_RFC3339: Final = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
FORMATS: Final = FormatChecker(formats=())


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        return False
    return True


FORMATS.checks("date-time")(_is_date_time)


def parse_instant_ms(value: str) -> int:
    """Epoch milliseconds of an RFC 3339 date-time already checked by :data:`FORMATS`."""
    moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00").replace(" ", "T"))
    return round(moment.timestamp() * 1000)


class SchemaValidators:
    """Compiled validators, one per schema object, built once and reused."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[dict[str, Any], Any]] = {}

    def issues(self, schema: dict[str, Any], value: Any) -> list[Issue]:
        entry = self._cache.get(id(schema))
        if entry is None or entry[0] is not schema:
            entry = (schema, Draft4RequestValidator(schema, format_checker=FORMATS))
            self._cache[id(schema)] = entry
        return translate(entry[1].iter_errors(value))


# --- jsonschema errors → zod-style issues ------------------------------------------------


def _js_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _type_issue(error: ValidationError) -> Issue:
    expected = error.validator_value
    expected = expected[0] if isinstance(expected, list) else expected
    received = _js_type(error.instance)
    if expected == "integer" and isinstance(error.instance, float):
        return Issue("invalid_type", "Expected integer, received float", tuple(error.absolute_path))
    if expected in ("integer", "number") and isinstance(error.instance, str):
        received = "nan"  # what coercing a non-numeric query string gives on the server
    name = "number" if expected == "integer" else expected
    return Issue(
        "invalid_type", f"Expected {name}, received {received}", tuple(error.absolute_path)
    )


def _quoted(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else json.dumps(value)


_BOUNDS: Final = {
    "minLength": ("too_small", "String must contain at least {} character(s)"),
    "maxLength": ("too_big", "String must contain at most {} character(s)"),
    "minItems": ("too_small", "Array must contain at least {} element(s)"),
    "maxItems": ("too_big", "Array must contain at most {} element(s)"),
    "minimum": ("too_small", "Number must be greater than or equal to {}"),
    "maximum": ("too_big", "Number must be less than or equal to {}"),
}


def translate(errors: Iterable[ValidationError]) -> list[Issue]:
    issues: list[Issue] = []
    for error in errors:
        path = tuple(error.absolute_path)
        keyword = error.validator
        if keyword == "required":
            issues += [
                Issue("invalid_type", "Required", (*path, name))
                for name in error.validator_value
                if isinstance(error.instance, dict) and name not in error.instance
            ]
        elif keyword == "type":
            issues.append(_type_issue(error))
        elif keyword in _BOUNDS:
            code, template = _BOUNDS[keyword]
            issues.append(Issue(code, template.format(error.validator_value), path))
        elif keyword == "enum":
            options = " | ".join(_quoted(o) for o in error.validator_value)
            message = f"Invalid enum value. Expected {options}, received {_quoted(error.instance)}"
            issues.append(Issue("invalid_enum_value", message, path))
        elif keyword == "pattern":
            message = error.schema.get("x-pattern-message", "Invalid")
            issues.append(Issue("custom", message, path))
        elif keyword == "format":
            issues.append(Issue("invalid_date", "Invalid date", path))
        elif keyword == "not" and "x-not-message" in error.schema:
            where = (*path, *error.schema.get("x-not-path", ()))
            issues.append(Issue("custom", error.schema["x-not-message"], where))
        elif keyword in ("oneOf", "anyOf"):
            issues.append(Issue("invalid_union", "Invalid input", path))
        else:
            issues.append(Issue("custom", error.message, path))
    unique = list(dict.fromkeys(issues))
    return unique


# --- bodies -----------------------------------------------------------------------------


MAX_JSON_DEPTH: Final = 128


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} does not fit a double")
    return value


def parse_json(raw: bytes) -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity, numbers that fit a double, bounded nesting."""
    try:
        value = json.loads(
            raw.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite_float
        )
    except (ValueError, RecursionError) as exc:
        raise InvalidJson() from exc
    if _depth(value) > MAX_JSON_DEPTH:
        message = f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
        raise ValidationFailed([Issue("custom", message)])
    return value


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        if children:
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children)
    return deepest


def strip_unknown(value: Any, schema: dict[str, Any]) -> Any:
    """Drop keys a schema does not declare, unless it allows extra properties."""
    if isinstance(value, dict) and "properties" in schema:
        if schema.get("additionalProperties") is True:
            return value
        props = schema["properties"]
        return {k: strip_unknown(v, props[k]) for k, v in value.items() if k in props}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [strip_unknown(item, schema["items"]) for item in value]
    return value


class JsonBodyValidator(AbstractRequestBodyValidator):  # type: ignore[misc]
    """Reads, limits, parses, validates and cleans a JSON request body."""

    def __init__(
        self,
        *,
        schema: dict[str, Any],
        required: bool = False,
        behaviour: Behaviour,
        validators: SchemaValidators,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            schema=schema,
            required=required,
            nullable=False,
            encoding="utf-8",
            strict_validation=False,
        )
        self._behaviour = behaviour
        self._validators = validators

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        # ``x-max-body-bytes`` marks a body of the Trigger.dev API (not the control plane):
        # its limit, and the deployed server's rules about Content-Length and empty bodies.
        declared_limit = self._schema.get("x-max-body-bytes")
        limit = declared_limit or DEFAULT_MAX_BODY_BYTES
        length = Headers(scope=scope).get("content-length")
        if declared_limit and self._behaviour.body_size_needs_content_length and length is None:
            raise BodyTooLarge(limit)
        if length is not None and length.isdigit() and int(length) > limit:
            raise BodyTooLarge(limit)
        raw = await read_body(receive, limit)
        if not raw:
            if self._required or (declared_limit and self._behaviour.empty_close_body_rejected):
                raise EmptyBody()
            return replay(receive, scope, b"")
        value = parse_json(raw)
        issues = self._validators.issues(self._schema, value)
        if issues:
            raise ValidationFailed(issues)
        cleaned = strip_unknown(value, self._schema)
        return replay(receive, scope, json.dumps(cleaned).encode())


class ClientDisconnected(Exception):
    """The client went away before its body arrived."""


async def read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(receive: Receive, scope: Scope, body: bytes) -> tuple[Receive, Scope]:
    """A receive channel that yields ``body`` first, and a scope whose headers describe
    it (its length, and JSON as its type once it has been parsed as JSON)."""
    sent = False

    async def receive_again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    replaced = (b"content-length", b"transfer-encoding", b"content-type")
    headers = [(k, v) for k, v in scope["headers"] if k not in replaced]
    headers.append((b"content-length", str(len(body)).encode()))
    if body:
        headers.append((b"content-type", b"application/json"))
    return receive_again, {**scope, "headers": headers}


# --- queries ----------------------------------------------------------------------------

_INTEGER: Final = re.compile(r"^[+-]?\d{1,4000}$")
_NUMBER: Final = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _coerce(text: str, schema: dict[str, Any]) -> Any:
    wanted = {schema.get("type")} | {alt.get("type") for alt in schema.get("anyOf", ())}
    if wanted & {"integer", "number"}:
        if _INTEGER.match(text):
            return int(text)
        if _NUMBER.match(text):
            return float(text)
    return text


class DeepObjectParser(OpenAPIURIParser):  # type: ignore[misc]
    """``page[size]=5&filter[createdAt][period]=7d`` into nested, typed objects.

    A list-valued field takes every repeated value, each split on commas and without
    empty parts, when ``split_lists`` is set; otherwise only the last value, unsplit, as the
    server does.
    """

    split_lists: bool = True

    def resolve_query(self, query_data: dict[str, list[str]]) -> dict[str, Any]:
        resolved: dict[str, Any] = {}
        for key, values in query_data.items():
            name, _, rest = key.partition("[")
            defn = self.param_defns.get(name)
            if defn is None or defn.get("style") != "deepObject" or not rest.endswith("]"):
                resolved[key] = values[-1]
                continue
            path = re.findall(r"([^\[\]]*)\]", "[" + rest)
            self._place(resolved.setdefault(name, {}), path, values, defn.get("schema", {}))
        return resolved

    def _place(
        self, target: dict[str, Any], path: list[str], values: list[str], schema: dict[str, Any]
    ) -> None:
        """Put ``values`` at ``path`` under ``target``, typed by ``schema``. A list field
        also takes the ``filter[status][]=`` and ``filter[status][0]=`` spellings."""
        for depth, step in enumerate(path):
            field = schema.get("properties", {}).get(step) or {}
            rest = path[depth + 1 :]
            if field.get("type") == "array" and all(p == "" or p.isdigit() for p in rest):
                earlier = target.get(step)
                items = self._leaf(values, field, itemised=bool(rest))
                target[step] = (earlier if isinstance(earlier, list) else []) + items
                return
            if not rest:
                target[step] = self._leaf(values, field)
                return
            if not isinstance(target.get(step), dict):
                target[step] = {}
            target, schema = target[step], field

    def _leaf(self, values: list[str], schema: dict[str, Any], *, itemised: bool = False) -> Any:
        """``itemised``: the values were written as ``key[0]=`` / ``key[]=`` items."""
        if schema.get("type") == "object" and values[-1] == "":
            return {}  # how an empty nested object is written: `filter[createdAt]=`
        if schema.get("type") == "array":
            items = schema.get("items", {})
            if self.split_lists and itemised:
                parts = values
            elif self.split_lists:  # every value, split on commas; empty parts mean nothing
                parts = [part for v in values for part in v.split(",") if part]
            else:
                parts = values[-1:]
            return [_coerce(part, items) for part in parts]
        return _coerce(values[-1], schema)


class QueryValidator(ParameterValidator):  # type: ignore[misc]
    """Validates query parameters and reports every problem as a Query Error."""

    def __init__(self, *args: Any, validators: SchemaValidators, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.validators = validators

    def validate_request(self, request: Any) -> None:
        issues: list[Issue] = []
        for param in self.parameters.get("query", []):
            value = request.query_params.get(param["name"])
            if value is None:
                continue
            schema = param.get("schema", {})
            for issue in self.validators.issues(schema, value):
                issues.append(_query_issue(param["name"], issue))
        if issues:
            raise QueryError(issues)
        for param in self.parameters.get("path", []):
            error = self.validate_path_parameter(param, request)
            if error:
                raise ParamsError([Issue("custom", error, (param["name"],))])


def _query_issue(name: str, issue: Issue) -> Issue:
    keys = [str(p) for p in issue.path if isinstance(p, str)]
    return Issue(issue.code, issue.message, (name + "".join(f"[{k}]" for k in keys),))
