"""The base of every error the fake answers with, and the errors no single domain owns.

One class per documented error. Domain code raises them (each domain package has an
``errors`` module for its own); :func:`mock_server.http.responses.error_response` turns any
of them into the API's envelope (``{"error": …}``, sometimes with ``details``). A class
knows its status and message; where the two modes disagree it asks the :class:`Behaviour`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .fidelity import Behaviour, ValidationStyle

PathItem = str | int
# zod-validation-error quotes a path segment unless it holds an identifier start character.
_IDENTIFIER_START = re.compile(r"[$_]|[^\W\d]")


@dataclass(frozen=True, slots=True)
class Issue:
    """One validation problem, shaped like a zod issue (``code``, ``message``, ``path``)."""

    code: str
    message: str
    path: tuple[PathItem, ...] = ()

    def as_detail(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "path": list(self.path)}

    def as_text(self) -> str:
        """``<message> at "<path>"`` the way zod-validation-error prints an issue."""
        if not self.path:
            return self.message
        if len(self.path) == 1 and isinstance(self.path[0], int):
            return f"{self.message} at index {self.path[0]}"
        return f'{self.message} at "{join_path(self.path)}"'


def join_path(path: Sequence[PathItem]) -> str:
    if len(path) == 1:
        return str(path[0])
    joined = ""
    for item in path:
        if isinstance(item, int):
            joined += f"[{item}]"
        elif '"' in item or not _IDENTIFIER_START.search(item):
            escaped = item.replace('"', '\\"')
            joined += f'["{escaped}"]'
        else:
            joined += ("." if joined else "") + item
    return joined


def issues_text(issues: Sequence[Issue]) -> str:
    return "Validation error: " + "; ".join(issue.as_text() for issue in issues[:99])


@dataclass(frozen=True, slots=True)
class ErrorReply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    cors: bool = True
    """False for the few answers the deployed server sends without CORS headers."""


class ApiError(Exception):
    status: ClassVar[int] = 500
    message: ClassVar[str] = "Internal Server Error"

    def __init__(self, message: str | None = None) -> None:
        self.text = message or self.message
        super().__init__(self.text)

    def render(self, behaviour: Behaviour) -> ErrorReply:
        return ErrorReply(self.status, {"error": self.text})


# --- request bodies and queries ---------------------------------------------------------


class ValidationFailed(ApiError):
    """A body that parsed as JSON but breaks the contract."""

    status = 422

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = tuple(issues)
        super().__init__(issues_text(self.issues))

    def render(self, behaviour: Behaviour) -> ErrorReply:
        if behaviour.validation_style is ValidationStyle.MESSAGE_400:
            return ErrorReply(400, {"error": self.text})
        details = [issue.as_detail() for issue in self.issues]
        return ErrorReply(422, {"error": self.text, "details": details})


class InvalidRequestBody(ApiError):
    """A body refused in a route's own words (``x-invalid-body`` on its schema): unread
    JSON, or issues listed as ``issues`` rather than ``details``, in both modes."""

    status = 400

    def __init__(self, text: str, issues: Sequence[Issue] = ()) -> None:
        super().__init__(text)
        self.issues = tuple(issues)

    def render(self, behaviour: Behaviour) -> ErrorReply:
        body: dict[str, Any] = {"error": self.text}
        if self.issues:
            body["issues"] = [issue.as_detail() for issue in self.issues]
        return ErrorReply(400, body)


class BodyTooLarge(ApiError):
    message = "Request body too large"

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def render(self, behaviour: Behaviour) -> ErrorReply:
        status = behaviour.body_too_large_status
        if status == 413:
            return ErrorReply(413, {"error": self.text})
        detail = Issue("too_big", f"The request body must be at most {self.limit} bytes")
        return ErrorReply(status, {"error": self.text, "details": [detail.as_detail()]})


class EmptyBody(ApiError):
    status = 400
    message = "Request body is empty"


class InvalidJson(ApiError):
    status = 400
    message = "Invalid JSON"


class ClientDisconnected(ApiError):
    """The client went away before its body arrived (nobody reads the answer)."""

    status = 400
    message = "Client disconnected"


class UnsupportedMediaType(ApiError):
    status = 415
    message = "Request bodies must be sent as application/json"


class DetailedBadRequest(ApiError):
    """A 400 carrying zod-style ``details`` (queries, path parameters)."""

    status = 400

    def __init__(self, issues: Sequence[Issue]) -> None:
        super().__init__()
        self.issues = tuple(issues)

    def render(self, behaviour: Behaviour) -> ErrorReply:
        details = [issue.as_detail() for issue in self.issues]
        return ErrorReply(self.status, {"error": self.text, "details": details})


class QueryError(DetailedBadRequest):
    message = "Query Error"


class ParamsError(DetailedBadRequest):
    message = "Params Error"


# --- routing ----------------------------------------------------------------------------


class RouteNotFound(ApiError):
    status = 404
    message = "Not found"


class MethodNotAllowed(ApiError):
    status = 405
    message = "Method not allowed"

    def __init__(self, allow: str | None = None) -> None:
        super().__init__()
        self.allow = allow

    def render(self, behaviour: Behaviour) -> ErrorReply:
        headers = {"allow": self.allow} if self.allow else {}
        return ErrorReply(405, {"error": self.text}, headers)


class BadControlRequest(ApiError):
    """A control-plane (``/_mock/``) request that cannot be carried out."""

    status = 400


class ControlTargetNotFound(ApiError):
    """A control-plane request naming something the fake does not have."""

    status = 404


class HttpFailure(ApiError):
    """An HTTP-level failure (from the framework) with no documented body of its own."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.http_status = status

    def render(self, behaviour: Behaviour) -> ErrorReply:
        return ErrorReply(self.http_status, {"error": self.text})
