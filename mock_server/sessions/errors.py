"""Refusals of the session rules: unknown, closed, expired, immutable, end-and-continue."""

from __future__ import annotations

from ..core.errors import ApiError, ErrorReply
from ..core.fidelity import Behaviour
from ..core.limits import LIMIT_HEADER


class SessionNotFound(ApiError):
    status = 404
    message = "Session not found"

    def __init__(self, *, on_read: bool = False) -> None:
        super().__init__()
        self.on_read = on_read

    def render(self, behaviour: Behaviour) -> ErrorReply:
        if self.on_read and behaviour.retrieve_not_found_deployed_style:
            return ErrorReply(404, {"error": "Not found"}, {"x-should-retry": "false"})
        return ErrorReply(404, {"error": self.text})


class SessionClosed(ApiError):
    status = 409
    message = "Session is closed; use a different externalId to create a new session"


class SessionExpired(ApiError):
    status = 409
    message = "Session is expired; use a different externalId to create a new session"


class ExternalIdImmutable(ApiError):
    status = 422
    message = (
        "externalId cannot be changed after creation; "
        "close this session and create a new one with the desired externalId"
    )


class EndAndContinueRefused(ApiError):
    """end-and-continue on a closed or expired session."""

    status = 400


class CallingRunNotFound(ApiError):
    status = 404
    message = "callingRunId not found in this environment"


class SessionLimitReached(ApiError):
    """The fake's own bound (``--max-sessions``), not the API's: the answer says so in a
    header, so a proxy or a test can tell it from the API."""

    status = 507

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"trigger-mock holds its maximum of {limit} sessions (--max-sessions): reset it "
            "(POST /_mock/reset) or raise the limit (PATCH /_mock/limits)"
        )

    def render(self, behaviour: Behaviour) -> ErrorReply:
        return ErrorReply(self.status, {"error": self.text}, {LIMIT_HEADER: "sessions"})
