"""Refusals of credentials and scopes."""

from __future__ import annotations

from ..core.errors import ApiError, ErrorReply
from ..core.fidelity import Behaviour
from ..core.limits import LIMIT_HEADER


class MissingApiKey(ApiError):
    status = 401
    message = "Invalid or Missing API key"


class ClaimsRefused(ApiError):
    """``POST /api/v1/auth/jwt/claims`` without a secret key it accepts, as deployed: one
    answer for every failure, sent without CORS headers."""

    status = 401
    message = "Invalid or Missing API key"

    def render(self, behaviour: Behaviour) -> ErrorReply:
        return ErrorReply(self.status, {"error": self.text}, cors=False)


class InvalidApiKey(ApiError):
    status = 401
    message = "Invalid API key"


class UnknownTokenEnvironment(ApiError):
    """A ``pub`` JWT whose ``sub`` names no environment this fake knows."""

    status = 401
    message = "Invalid Public Access Token"


class InvalidPublicToken(ApiError):
    """Bad signature, wrong algorithm, expired, or wrong issuer / audience."""

    status = 401
    message = "Public Access Token is invalid"


class MissingScope(ApiError):
    """A credential whose scopes do not cover the call. The docs' status (``401``) is about
    public tokens; a restricted secret key is refused with ``403`` in both modes."""

    status = 403
    message = "Unauthorized"

    def __init__(self, *, restricted_key: bool = False) -> None:
        super().__init__()
        self.restricted_key = restricted_key

    def render(self, behaviour: Behaviour) -> ErrorReply:
        body = {
            "error": self.text,
            "code": "unauthorized",
            "param": "access_token",
            "type": "authorization",
        }
        status = 403 if self.restricted_key else behaviour.missing_scope_status
        return ErrorReply(status, body)


class AdminTokenRequired(ApiError):
    status = 401
    message = "The control plane needs the --admin-token as a bearer token"


class EnvironmentLimitReached(ApiError):
    """A new key would make one environment more than ``--max-environments`` allows: the
    fake's own bound, marked as such."""

    status = 507

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"trigger-mock holds its maximum of {limit} environments made by new keys "
            "(--max-environments): use a key it already knows, reset it (POST /_mock/reset) "
            "or raise the limit (PATCH /_mock/limits)"
        )

    def render(self, behaviour: Behaviour) -> ErrorReply:
        return ErrorReply(self.status, {"error": self.text}, {LIMIT_HEADER: "environments"})
