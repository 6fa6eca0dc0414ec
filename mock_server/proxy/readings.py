"""Which reading of a fidelity-table row an exchange shows, where one exchange can tell.

Each :class:`RowReading` recognises the documented and the deployed answer to the same
question (a body over its limit, a token without the scope, …) and names the findings the
*other* reading's answer explains: the deployed server's ``405`` without a body is not a
schema violation but the row ``action_only_loader_405``. Rows one exchange cannot show
(which of two stored states a create returns, say) are not here; the contract suite
covers them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ..auth.ratelimit import behind_the_limiter
from ..auth.tokens import bearer_credential, public_token_claims
from ..core.times import js_date_ms
from .exchange import NOT_JSON, Exchange
from .violations import Reading

SCOPE_ERROR: Final = {
    "error": "Unauthorized",
    "code": "unauthorized",
    "param": "access_token",
    "type": "authorization",
}
FALSY_JSON_OPERATIONS: Final = frozenset(
    {"create_session_v1", "update_session_v1", "close_session_v1",
     "end_and_continue_session_v1", "create_session_stream_waitpoint_v1"}
)  # fmt: skip
"""The JSON bodies with a byte limit of their own, which the row concerns (a channel
record is any text; a token request has its own wording)."""
WHOLE_ANSWER: Final = frozenset(
    {"response.status", "response.schema", "response.content-type", "response.json",
     "response.headers", "error-envelope", "cors"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RowReading:
    row: str
    recognise: Callable[[Exchange], Reading | None]
    explains: frozenset[str] = frozenset()
    """Rules whose findings the deployed reading explains (and, in a documented-only
    proxy, does not)."""


def _error(exchange: Exchange) -> str | None:
    body = exchange.response_json()
    if body is NOT_JSON or not isinstance(body, dict):
        return None
    error = body.get("error")
    return error if isinstance(error, str) else None


def _too_large(exchange: Exchange) -> Reading | None:
    if _error(exchange) != "Request body too large":
        return None
    return {422: "documented", 413: "deployed"}.get(exchange.status)  # type: ignore[return-value]


def _validation(exchange: Exchange) -> Reading | None:
    body = exchange.response_json()
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return None
    if exchange.status == 422 and isinstance(body.get("details"), list):
        return "documented"
    if exchange.status == 400 and body["error"].startswith("Validation error: "):
        return "deployed"
    return None


def _content_type(exchange: Exchange) -> Reading | None:
    media = exchange.request_media_type
    if exchange.request_body.size == 0 or not media or "json" in media:
        return None
    if exchange.operation is None or exchange.operation.startswith(("append_", "s2_")):
        return None  # channels take any record
    if exchange.status in (401, 403):
        return None  # the credential was refused before the body was looked at
    return "documented" if exchange.status == 415 else "deployed"


def _scope(exchange: Exchange) -> Reading | None:
    if exchange.response_json() != SCOPE_ERROR:
        return None
    credential = bearer_credential(exchange.request_header("authorization"))
    if credential is None or public_token_claims(credential) is None:
        return None  # a restricted secret key is refused with 403 in both modes
    return {401: "documented", 403: "deployed"}.get(exchange.status)  # type: ignore[return-value]


def _empty_close(exchange: Exchange) -> Reading | None:
    if exchange.operation != "close_session_v1" or exchange.request_body.size:
        return None
    if exchange.status == 400 and _error(exchange) == "Request body is empty":
        return "deployed"
    return "documented" if 200 <= exchange.status < 300 else None


def _not_found(exchange: Exchange) -> Reading | None:
    if exchange.status != 404 or exchange.method != "GET":
        return None
    if exchange.operation not in ("retrieve_session_v1", "get_session_snapshot_url_v1"):
        return None  # a channel read answers an unknown stream this way in both modes
    error = _error(exchange)
    if error == "Session not found":
        return "documented"
    if error == "Not found" and exchange.response_header("x-should-retry") == "false":
        return "deployed"
    return None


def _edge(exchange: Exchange) -> Reading | None:
    if exchange.status == 0 or exchange.operation is None:
        return None
    marked = exchange.response_header("strict-transport-security") is not None and (
        exchange.response_header("x-robots-tag") is not None
    )
    return "deployed" if marked else "documented"


def _loader_405(exchange: Exchange) -> Reading | None:
    if exchange.status != 405 or exchange.method not in ("GET", "HEAD"):
        return None
    if exchange.response_body.size == 0 and exchange.response_header("allow") is None:
        return "deployed"
    return "documented" if exchange.response_header("allow") else None


def _no_authorization(exchange: Exchange) -> Reading | None:
    if exchange.status != 401 or exchange.request_header("authorization"):
        return None  # an empty header is no header to the middleware
    if not behind_the_limiter(exchange.path):
        return None  # the middleware that answers it skips this path (claims: its own row)
    body = exchange.response_json()
    if not isinstance(body, dict):
        return None
    if "title" in body and "detail" in body:
        return "deployed"
    return "documented" if "error" in body else None


def _claims(exchange: Exchange) -> Reading | None:
    if exchange.operation != "generate_jwt_claims_v1" or exchange.status != 401:
        return None
    refused_alike = _error(exchange) == "Invalid or Missing API key"
    if exchange.request_header("origin") is not None:
        bare = exchange.response_header("access-control-allow-origin") is None
        return "deployed" if refused_alike and bare else "documented"
    if not refused_alike:
        return "documented"
    if bearer_credential(exchange.request_header("authorization")) is None:
        return None  # the docs refuse a missing key in these words too; only CORS differs
    return "deployed"


def _flush_interval(exchange: Exchange) -> Reading | None:
    value = exchange.response_header("x-s2-flush-interval-ms")
    return {"200": "documented", "100": "deployed"}.get(value or "")  # type: ignore[return-value]


def _falsy_json(exchange: Exchange) -> Reading | None:
    if exchange.operation not in FALSY_JSON_OPERATIONS:
        return None
    if exchange.request_body.bytes().strip() not in (b"null", b"false", b"0", b'""'):
        return None
    if exchange.status == 400 and _error(exchange) == "Invalid JSON":
        return "deployed"
    return "documented" if exchange.status in (400, 422) else None


def _expires_at(exchange: Exchange) -> Reading | None:
    if exchange.operation != "create_session_v1":
        return None
    body = exchange.request_json()
    value = body.get("expiresAt") if isinstance(body, dict) else None
    if value is None or (isinstance(value, str) and "T" in value):
        return None
    if exchange.status in (200, 201, 409):
        return "deployed"
    if exchange.status not in (400, 422) or js_date_ms(value) is None:
        return None  # an unreadable date is refused either way
    # A refusal that names expiresAt is the docs'; the deployed server refuses such a body
    # only for another field.
    return "documented" if '"expiresAt"' in (_error(exchange) or "") else None


READINGS: Final[tuple[RowReading, ...]] = (
    RowReading("body_too_large_status", _too_large, frozenset({"response.status"})),
    RowReading("validation_style", _validation),
    RowReading("content_type_checked", _content_type, frozenset({"request.content-type"})),
    RowReading("missing_scope_status", _scope),
    RowReading("empty_close_body_rejected", _empty_close),
    RowReading("retrieve_not_found_deployed_style", _not_found),
    RowReading("falsy_json_invalid", _falsy_json),
    RowReading("deployed_edge", _edge),
    RowReading("action_only_loader_405", _loader_405, WHOLE_ANSWER),
    RowReading("missing_authorization_problem", _no_authorization, WHOLE_ANSWER),
    RowReading("claims_refused_as_deployed", _claims, frozenset({"cors"})),
    RowReading("s2_flush_interval_ms", _flush_interval),
    RowReading("expires_at_coerced", _expires_at, frozenset({"request.schema"})),
)
