"""Query parameters: ``page[…]`` / ``filter[…]`` deep objects, parsed and validated.

Plugged into Connexion as the URI parser and the parameter validator. Problems come back
as a 400 Query Error with zod-style ``details`` whose paths name the query key
(``page[size]``, ``filter[createdAt][period]``).
"""

from __future__ import annotations

import re
from typing import Any, Final

from connexion.uri_parsing import OpenAPIURIParser
from connexion.validators import ParameterValidator

from ..core.errors import Issue, ParamsError, QueryError
from .schema_issues import SchemaValidators

_INTEGER: Final = re.compile(r"^[+-]?\d{1,4000}$")
_NUMBER: Final = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _js_number(text: str) -> Any:
    """``Number(text)`` in JavaScript, where it gives a number (blank is 0; ``0x10`` is 16;
    whole floats are integers); anything else stays text, which validation reports as
    zod reports NaN."""
    stripped = text.strip()
    if not stripped:
        return 0
    if re.fullmatch(r"0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+", stripped):
        return int(stripped, 0)
    if _NUMBER.match(stripped):
        value = float(stripped)
        return int(value) if value.is_integer() else value
    return text


def _coerce(text: str, schema: dict[str, Any]) -> Any:
    if schema.get("x-js-number"):
        return _js_number(text)
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
                resolved[key] = (
                    values[-1] if defn is None else _coerce(values[-1], defn.get("schema", {}))
                )
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
                if param.get("required"):  # zod's words for a missing field
                    issues.append(Issue("invalid_type", "Required", (param["name"],)))
                continue
            schema = param.get("schema", {})
            for issue in self.validators.issues(schema, value):
                issues.append(_query_issue(param["name"], issue))
        if issues:
            raise QueryError(issues)
        for param in self.parameters.get("path", []):
            value = request.path_params.get(param["name"])
            if value is None:
                continue
            found = self.validators.issues(param.get("schema", {}), value)
            if found:  # zod's words, as the server's params check sends them
                raise ParamsError([Issue(i.code, i.message, (param["name"],)) for i in found])


def _query_issue(name: str, issue: Issue) -> Issue:
    keys = [str(p) for p in issue.path if isinstance(p, str)]
    return Issue(issue.code, issue.message, (name + "".join(f"[{k}]" for k in keys),))
