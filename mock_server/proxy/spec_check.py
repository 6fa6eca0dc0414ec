"""An exchange against the spec: the operation its method and path name, the request's
body and credentials, and the answer's status, media type, body and headers.

The schemas are checked with the validators the fake itself uses (``http/schema_issues``),
so the proxy and the fake never disagree about what a body means. Query strings of the
``deepObject`` parameters (``page[…]``, ``filter[…]``) are not checked here: how they are
read is itself one of the differences the fidelity table lists.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from ..core.errors import join_path
from ..http.connexion_internals import resolve_refs
from ..http.routes import OperationRoutes
from ..http.schema_issues import SchemaValidators
from .exchange import NOT_JSON, Exchange
from .violations import Finding

JSON_TYPES = ("application/json", "application/problem+json")


@dataclass(frozen=True, slots=True)
class Operation:
    id: str
    method: str
    spec: dict[str, Any]

    @property
    def secured(self) -> bool:
        """Whether every way of calling it needs a credential."""
        alternatives: list[dict[str, Any]] = self.spec.get("security") or []
        return bool(alternatives) and all(alternative for alternative in alternatives)

    def response(self, status: int) -> dict[str, Any] | None:
        responses: dict[str, dict[str, Any]] = self.spec.get("responses", {})
        found = responses.get(str(status)) or responses.get(f"{status // 100}XX")
        return found if found is not None else responses.get("default")

    def json_body_schema(self) -> dict[str, Any] | None:
        content = self.spec.get("requestBody", {}).get("content", {})
        media = content.get("application/json")
        return None if media is None else media.get("schema")


def _issues_text(issues: list[Any], limit: int = 3) -> str:
    shown = [
        f"{join_path(issue.path)}: {issue.message}" if issue.path else issue.message
        for issue in issues[:limit]
    ]
    more = len(issues) - limit
    return "; ".join(shown) + (f" (and {more} more)" if more > 0 else "")


class SpecCheck:
    """The checks one spec can make of an exchange."""

    def __init__(self, spec: dict[str, Any]) -> None:
        resolved = resolve_refs(spec)
        self.routes = OperationRoutes([("", resolved)])
        self._operations: dict[str, Operation] = {}
        self._params: dict[str, list[dict[str, Any]]] = {}
        """Each operation's path parameters: its own, and those its path item declares for
        every operation on the path (most paths declare them there)."""
        for item in resolved.get("paths", {}).values():
            shared = [p for p in item.get("parameters", []) if p.get("in") == "path"]
            for method, op in item.items():
                if isinstance(op, dict) and "operationId" in op:
                    self._operations[op["operationId"]] = Operation(
                        op["operationId"], method.upper(), op
                    )
                    own = [p for p in op.get("parameters", []) if p.get("in") == "path"]
                    named = {p["name"] for p in own}
                    self._params[op["operationId"]] = own + [
                        p for p in shared if p["name"] not in named
                    ]
        self.validators = SchemaValidators()

    def operation(self, exchange: Exchange) -> Operation | None:
        method = "GET" if exchange.method == "HEAD" else exchange.method
        found = self.routes.match(exchange.method, exchange.path) or self.routes.match(
            method, exchange.path
        )
        return None if found is None else self._operations[found[0]]

    def path_parameters(self, exchange: Exchange) -> dict[str, str]:
        found = self.routes.match(exchange.method, exchange.path)
        return {} if found is None else {k: unquote(v) for k, v in found[1].items()}

    # --- the request ------------------------------------------------------------------

    def request(self, exchange: Exchange, op: Operation) -> Iterator[Finding]:
        if op.secured and not exchange.request_header("authorization"):
            yield Finding("request", "request.credentials", f"{op.id} needs a credential")
        values = self.path_parameters(exchange)
        for parameter in self._params[op.id]:
            value = values.get(parameter["name"])
            if value is None or "schema" not in parameter:
                continue
            issues = self.validators.issues(parameter["schema"], value)
            if issues:
                yield Finding(
                    "request",
                    "request.parameters",
                    f"path parameter {parameter['name']}: {_issues_text(issues)}",
                )
        yield from self._request_body(exchange, op)

    def _request_body(self, exchange: Exchange, op: Operation) -> Iterator[Finding]:
        body_spec = op.spec.get("requestBody")
        if body_spec is None or not exchange.request_body.complete:
            return
        size = exchange.request_body.size
        if size == 0:
            if body_spec.get("required"):
                yield Finding("request", "request.body", f"{op.id} needs a body")
            return
        schema = op.json_body_schema()
        content = body_spec.get("content", {})
        media = exchange.request_media_type
        if schema is None or media not in JSON_TYPES:
            # A body without a Content-Type is octet-stream (RFC 9110 8.3): ``*/*`` takes it.
            sent_as = media or "application/octet-stream"
            if not any(fnmatch.fnmatch(sent_as, pattern) for pattern in content):
                yield Finding(
                    "request",
                    "request.content-type",
                    f"{media or 'no Content-Type'}: {op.id} takes {', '.join(content)}",
                )
            return
        value = exchange.request_json()
        if value is NOT_JSON:
            yield Finding("request", "request.body", "the body is not JSON")
            return
        issues = self.validators.issues(schema, value)
        if issues:
            yield Finding("request", "request.schema", _issues_text(issues))

    # --- the answer -------------------------------------------------------------------

    def response(self, exchange: Exchange, op: Operation) -> Iterator[Finding]:
        documented = op.response(exchange.status)
        if documented is None:
            listed = ", ".join(op.spec.get("responses", {}))
            yield Finding(
                "response",
                "response.status",
                f"{exchange.status} is not an answer {op.id} has (it has {listed})",
            )
            return
        yield from self._headers(exchange, documented)
        content = documented.get("content")
        raw = exchange.response_body
        if not content or raw.size == 0 or exchange.method == "HEAD":
            return
        media = exchange.response_media_type
        schema_holder = content.get(media)
        if schema_holder is None:
            if not any(fnmatch.fnmatch(media or "-", pattern) for pattern in content):
                yield Finding(
                    "response",
                    "response.content-type",
                    f"{media or 'no Content-Type'} where the spec gives {', '.join(content)}",
                )
            return
        if media not in JSON_TYPES or not raw.complete:
            return
        value = exchange.response_json()
        if value is NOT_JSON:
            yield Finding("response", "response.json", f"{media} body that is not JSON")
            return
        schema = schema_holder.get("schema")
        if schema is not None:
            issues = self.validators.issues(schema, value)
            if issues:
                yield Finding("response", "response.schema", _issues_text(issues))

    def _headers(self, exchange: Exchange, documented: dict[str, Any]) -> Iterator[Finding]:
        for name, spec in (documented.get("headers") or {}).items():
            value = exchange.response_header(name.lower())
            if value is None:
                if spec.get("required"):
                    yield Finding("response", "response.headers", f"no {name} header")
                continue
            schema = spec.get("schema")
            issues = [] if schema is None else self.validators.issues(schema, value)
            if issues:
                yield Finding(
                    "response", "response.headers", f"{name}: {value!r}: {_issues_text(issues)}"
                )
