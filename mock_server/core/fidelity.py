"""Where the documented API and the deployed server disagree: one table, one row each.

The default mode, ``documented``, follows the published docs and OpenAPI file; ``deployed``
follows what the deployed server does (read from its source). Code never branches on the
mode itself: it reads the :class:`Behaviour` built from this table, so every difference is
visible here and nowhere else. The table in ``docs/fidelity.md`` is generated from
:data:`DIFFERENCES` and a test keeps the two identical.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from typing import Any


class Fidelity(enum.StrEnum):
    DOCUMENTED = "documented"
    DEPLOYED = "deployed"


class ValidationStyle(enum.StrEnum):
    """How a body that fails validation is answered."""

    DETAILS_422 = "422 with details"
    MESSAGE_400 = "400 with one message"


@dataclass(frozen=True, slots=True)
class Difference:
    name: str
    topic: str
    documented: str
    deployed: str
    documented_value: Any
    deployed_value: Any

    def pick(self, fidelity: Fidelity) -> Any:
        if fidelity is Fidelity.DEPLOYED:
            return self.deployed_value
        return self.documented_value


DIFFERENCES: tuple[Difference, ...] = (
    Difference(
        name="body_too_large_status",
        topic="Body over its limit (32 KB create/update, 1 KB close)",
        documented="`422`",
        deployed='`413 {"error":"Request body too large"}`',
        documented_value=422,
        deployed_value=413,
    ),
    Difference(
        name="body_size_needs_content_length",
        topic="Body without a `Content-Length` header (chunked)",
        documented="measured as it arrives",
        deployed="`413`, whatever its size",
        documented_value=False,
        deployed_value=True,
    ),
    Difference(
        name="validation_style",
        topic="Body that fails validation (types, sizes, `session_` externalId)",
        documented='`422 {"error":…,"details":[…]}`',
        deployed='`400 {"error":"Validation error: … at \\"path\\""}`',
        documented_value=ValidationStyle.DETAILS_422,
        deployed_value=ValidationStyle.MESSAGE_400,
    ),
    Difference(
        name="content_type_checked",
        topic="Body sent with a non-JSON `Content-Type`",
        documented="`415`",
        deployed="parsed as JSON anyway",
        documented_value=True,
        deployed_value=False,
    ),
    Difference(
        name="missing_scope_status",
        topic="Public token without the scope an operation needs",
        documented="`401`",
        deployed='`403 {"error":"Unauthorized","code":"unauthorized",…}`',
        documented_value=401,
        deployed_value=403,
    ),
    Difference(
        name="public_token_operations",
        topic="Public token on update / close",
        documented='`401 {"error":"Invalid API key"}` (secret key only)',
        deployed="accepted with an `admin` scope, else `403`",
        documented_value=frozenset(),
        deployed_value=frozenset({"update_session_v1", "close_session_v1"}),
    ),
    Difference(
        name="create_scope_names_session",
        topic="Public token creating a session",
        documented="`write:sessions:{externalId}` is enough",
        deployed="needs `write:sessions` without an id, or `write:tasks:{taskIdentifier}`",
        documented_value=True,
        deployed_value=False,
    ),
    Difference(
        name="empty_close_body_rejected",
        topic="Close with an empty body",
        documented="`200` (the body is optional)",
        deployed='`400 {"error":"Request body is empty"}`',
        documented_value=False,
        deployed_value=True,
    ),
    Difference(
        name="retrieve_not_found_deployed_style",
        topic="Retrieve of an unknown session, or a download URL for its snapshot",
        documented='`404 {"error":"Session not found"}`',
        deployed='`404 {"error":"Not found"}` + `x-should-retry: false`',
        documented_value=False,
        deployed_value=True,
    ),
    Difference(
        name="cached_create_refreshes_trigger_config",
        topic="Create with the `externalId` of an open session",
        documented="row returned unchanged",
        deployed="`triggerConfig` replaced by the request's, `updatedAt` bumped",
        documented_value=False,
        deployed_value=True,
    ),
    Difference(
        name="split_comma_filters",
        topic="List filter values: `filter[tags]=a,b` (how the SDK sends arrays) or repeated keys",
        documented="any of `a`, `b`, however sent",
        deployed=(
            'last value only, unsplit: the one tag `"a,b"`; `filter[status]=ACTIVE,CLOSED` is `400`'
        ),
        documented_value=True,
        deployed_value=False,
    ),
    Difference(
        name="bad_period_ignored",
        topic="Unparseable `filter[createdAt][period]`",
        documented="`400` Query Error",
        deployed="filter silently ignored",
        documented_value=False,
        deployed_value=True,
    ),
    Difference(
        name="falsy_json_invalid",
        topic='A create, update, close or end-and-continue body of `null`, `false`, `0` or `""`',
        documented="validation error (not an object)",
        deployed='`400 {"error":"Invalid JSON"}`',
        documented_value=False,
        deployed_value=True,
    ),
    Difference(
        name="authorization_before_existence",
        topic=(
            "Append to an unknown session, or an upload URL for its snapshot, with a token "
            "not scoped to its URL key"
        ),
        documented="`404` (existence is checked first; `Session not found` for the snapshot)",
        deployed=(
            "`403` (the token is checked first; a secret key or a matching token gets "
            '`404 {"error":"Resource not found"}`)'
        ),
        documented_value=False,
        deployed_value=True,
    ),
    Difference(
        name="deployed_edge",
        topic="A path ending in `/`; the headers on every answer",
        documented="`307` to the path without it (`/api/v1/sessions/`); no extra headers",
        deployed=(
            "`301` to the path without it (slashes folded, query kept); every answer "
            "carries `Strict-Transport-Security: max-age=3153600000` and "
            "`X-Robots-Tag: noindex, nofollow`"
        ),
        documented_value=False,
        deployed_value=True,
    ),
    Difference(
        name="action_only_loader_405",
        topic="`GET`/`HEAD` on close, end-and-continue or an append",
        documented='`405 {"error":"Method not allowed"}` with `Allow: POST`',
        deployed="`405` with no body, no `Allow` and no CORS headers",
        documented_value=False,
        deployed_value=True,
    ),
    Difference(
        name="missing_authorization_problem",
        topic="`/api/*` request with no `Authorization` header (claims and snapshot URLs aside)",
        documented='`401 {"error":"Invalid or Missing API key"}`',
        deployed=(
            '`401` problem JSON (`{"title":"Unauthorized",…,"detail":"No authorization header '
            'provided",…}`, 2-space indented), without CORS headers'
        ),
        documented_value=False,
        deployed_value=True,
    ),
    Difference(
        name="claims_refused_as_deployed",
        topic=(
            "`POST /api/v1/auth/jwt/claims` without an accepted secret key "
            "(none, a public token, an unknown key)"
        ),
        documented='`401` with the reason (`"Invalid API key"`, …), CORS headers as everywhere',
        deployed='`401 {"error":"Invalid or Missing API key"}` for all, without CORS headers',
        documented_value=False,
        deployed_value=True,
    ),
    Difference(
        name="s2_flush_interval_ms",
        topic="`X-S2-Flush-Interval-Ms` from initialize (`PUT …/{io}`)",
        documented="`200` (the S2 client's default)",
        deployed="`100` (the server's setting)",
        documented_value=200,
        deployed_value=100,
    ),
    Difference(
        name="s2_stream_names_raw",
        topic="`X-S2-Stream-Name` for a session key holding `/` or non-ASCII",
        documented="`/sessions/{key}/{io}`, the key percent-encoded",
        deployed="`/sessions/{key}/{io}`, the key as it is",
        documented_value=False,
        deployed_value=True,
    ),
    Difference(
        name="jwt_algorithms",
        topic="Public token signed with the environment's key by HS384 or HS512",
        documented="`401` (HS256 only)",
        deployed="accepted (the server verifies without naming algorithms: any HMAC)",
        documented_value=frozenset({"HS256"}),
        deployed_value=frozenset({"HS256", "HS384", "HS512"}),
    ),
    Difference(
        name="expires_at_coerced",
        topic="Create's `expiresAt` as epoch milliseconds or a non-ISO date string",
        documented="validation error (an RFC 3339 date-time only)",
        deployed=(
            "accepted as JavaScript's `Date` reads it (`1767225600000`, `2030-01-01`, RFC 2822; "
            '`null` is 1970, so `409`); what it cannot read is `"Invalid date"`'
        ),
        documented_value=False,
        deployed_value=True,
    ),
    Difference(
        name="created_at_bounds_are_numbers",
        topic="`filter[createdAt][from|to]` as an ISO date-time",
        documented="accepted (epoch milliseconds or ISO 8601)",
        deployed=(
            '`400` Query Error `"Expected number, received nan"` (epoch milliseconds only, read '
            "as JavaScript's `Number()`)"
        ),
        documented_value=False,
        deployed_value=True,
    ),
    Difference(
        name="edge_cursors_deployed_style",
        topic="List cursors at the ends of the list",
        documented="`next`/`previous` present exactly when older/newer rows exist",
        deployed="any `page[after]` page has `previous`; a short `page[before]` page has no `next`",
        documented_value=False,
        deployed_value=True,
    ),
)


@dataclass(frozen=True, slots=True)
class Behaviour:
    """The table resolved for one mode: one typed attribute per row."""

    fidelity: Fidelity
    body_too_large_status: int
    body_size_needs_content_length: bool
    validation_style: ValidationStyle
    content_type_checked: bool
    missing_scope_status: int
    public_token_operations: frozenset[str]
    create_scope_names_session: bool
    empty_close_body_rejected: bool
    retrieve_not_found_deployed_style: bool
    cached_create_refreshes_trigger_config: bool
    split_comma_filters: bool
    bad_period_ignored: bool
    falsy_json_invalid: bool
    authorization_before_existence: bool
    deployed_edge: bool
    action_only_loader_405: bool
    missing_authorization_problem: bool
    claims_refused_as_deployed: bool
    s2_flush_interval_ms: int
    s2_stream_names_raw: bool
    jwt_algorithms: frozenset[str]
    expires_at_coerced: bool
    created_at_bounds_are_numbers: bool
    edge_cursors_deployed_style: bool

    @classmethod
    def of(cls, fidelity: Fidelity | str) -> Behaviour:
        mode = Fidelity(fidelity)
        return cls(fidelity=mode, **{row.name: row.pick(mode) for row in DIFFERENCES})


def behaviour_fields() -> set[str]:
    return {f.name for f in fields(Behaviour)} - {"fidelity"}


def markdown_table() -> str:
    """The table in ``docs/fidelity.md``, generated from :data:`DIFFERENCES`."""
    lines = [
        "| situation | `--fidelity documented` (default) | `--fidelity deployed` |",
        "|---|---|---|",
    ]
    lines += [f"| {row.topic} | {row.documented} | {row.deployed} |" for row in DIFFERENCES]
    return "\n".join(lines)


def topic_of(row: str) -> str:
    """A difference's topic, by its row's name (the name itself for a row not listed):
    how a report or a summary names what it counts."""
    return next((d.topic for d in DIFFERENCES if d.name == row), row)
