"""Refusals of credentials and scopes."""

from __future__ import annotations

from ..core.errors import ApiError, ErrorReply
from ..core.fidelity import Behaviour


class MissingApiKey(ApiError):
    status = 401
    message = "Invalid or Missing API key"


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
    status = 403
    message = "Unauthorized"

    def render(self, behaviour: Behaviour) -> ErrorReply:
        body = {
            "error": self.text,
            "code": "unauthorized",
            "param": "access_token",
            "type": "authorization",
        }
        return ErrorReply(behaviour.missing_scope_status, body)


class AdminTokenRequired(ApiError):
    status = 401
    message = "The control plane needs the --admin-token as a bearer token"
