"""Schema validation that reports problems the way the real server's zod does.

Every failure becomes an :class:`~mock_server.errors.Issue` with a zod-style ``code`` and
``message`` (``Required``, ``String must contain at most 128 character(s)``, …), so
either mode can render it: as ``details`` or as one ``Validation error: …`` line.
Validators are compiled once per schema object and reused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, Final

from connexion.json_schema import Draft4RequestValidator
from jsonschema import FormatChecker, ValidationError

from .errors import Issue
from .models import parse_iso_ms

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
