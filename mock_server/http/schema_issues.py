"""Schema validation that reports problems the way the real server's zod does.

Every failure becomes an :class:`~mock_server.core.errors.Issue` with a zod-style ``code`` and
``message`` (``Required``, ``String must contain at most 128 character(s)``, …), so
either mode can render it: as ``details`` or as one ``Validation error: …`` line.
Validators are compiled once per schema object and reused. A request that is valid (nearly
every one) is only checked by ``jsonschema_rs``, compiled Rust and about a hundred times
faster. The ``jsonschema`` validator, which says what is wrong in terms zod's messages can
be built from, runs only when the fast one refuses, and its verdict is the one that
counts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, Final

import jsonschema_rs
from jsonschema import FormatChecker, ValidationError

from ..core.errors import Issue
from ..core.times import parse_iso_ms
from .connexion_internals import Draft4RequestValidator

_RFC3339: Final = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
FORMATS: Final = FormatChecker(formats=())


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        parse_iso_ms(value)
    except ValueError:
        return False
    return bool(_RFC3339.match(value))


FORMATS.checks("date-time")(_is_date_time)


def without_nullable(schema: Any, _done: dict[int, Any] | None = None) -> Any:
    """A copy of an OpenAPI 3.0 schema in plain JSON Schema: ``nullable: true`` becomes
    ``null`` among the node's types and enum values (what Connexion's validator allows).
    Resolved ``$ref`` cycles (a JSON value holding JSON values) stay cycles in the copy."""
    done = {} if _done is None else _done
    if id(schema) in done:
        return done[id(schema)]
    if isinstance(schema, list):
        items: list[Any] = []
        done[id(schema)] = items
        items.extend(without_nullable(item, done) for item in schema)
        return items
    if not isinstance(schema, dict):
        return schema
    plain: dict[str, Any] = {}
    done[id(schema)] = plain
    plain.update((key, without_nullable(value, done)) for key, value in schema.items())
    if plain.get("nullable") is True or plain.get("x-nullable") is True:
        if "type" in plain:
            types = plain["type"] if isinstance(plain["type"], list) else [plain["type"]]
            plain["type"] = [*types, "null"]
        if "enum" in plain:
            plain["enum"] = [*plain["enum"], None]
    return plain


class SchemaValidators:
    """Compiled validators, one pair per schema object, built once and reused.

    ``compiled`` counts the pairs built: after warm-up a request must build none."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[dict[str, Any], Any, Any]] = {}
        self.compiled = 0

    def issues(self, schema: dict[str, Any], value: Any) -> list[Issue]:
        entry = self._cache.get(id(schema))
        if entry is None or entry[0] is not schema:
            entry = self._compile(schema)
            self._cache[id(schema)] = entry
        if entry[2] is not None and entry[2].is_valid(value):
            return []
        return translate(entry[1].iter_errors(value))

    def _compile(self, schema: dict[str, Any]) -> tuple[dict[str, Any], Any, Any]:
        self.compiled += 1
        try:
            fast = jsonschema_rs.Draft4Validator(
                without_nullable(schema),
                formats={"date-time": _is_date_time},
                validate_formats=True,
            )
        except ValueError:  # a cyclic schema (a JSON value of JSON values): jsonschema alone
            fast = None
        return schema, Draft4RequestValidator(schema, format_checker=FORMATS), fast


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
            # A bound the server's schema words itself: ``x-bound-message`` on the node.
            message = error.schema.get("x-bound-message") or template.format(error.validator_value)
            issues.append(Issue(code, message, path))
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
