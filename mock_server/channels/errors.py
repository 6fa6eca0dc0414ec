"""The errors of the channel routes, the run-side waitpoints and the fake's S2 endpoint, one
class per documented error (the base class and the envelope are in
:mod:`mock_server.core.errors`)."""

from __future__ import annotations

from ..core.errors import ApiError, ErrorReply
from ..core.fidelity import Behaviour
from ..core.limits import LIMIT_HEADER


class ChannelError(ApiError):
    """Channel refusals carry ``"ok": false`` beside the message, as the server's do."""

    def render(self, behaviour: Behaviour) -> ErrorReply:
        return ErrorReply(self.status, {"ok": False, "error": self.text})


class RecordTooLarge(ChannelError):
    status = 413

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"Record metered size {size} bytes exceeds the S2 per-record limit of {limit} "
            "bytes. Reduce tool-output size or split into smaller parts."
        )


class TooManyReaders(ChannelError):
    """``--max-sse-readers`` live readers already: the fake's own bound, marked as such;
    the client may try again in a second."""

    status = 503

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"trigger-mock is serving its maximum of {limit} live SSE readers "
            "(--max-sse-readers): close one, or raise the limit (PATCH /_mock/limits)"
        )

    def render(self, behaviour: Behaviour) -> ErrorReply:
        headers = {LIMIT_HEADER: "sse-readers", "Retry-After": "1"}
        return ErrorReply(self.status, {"ok": False, "error": self.text}, headers)


class AppendToClosedSession(ChannelError):
    status = 409
    message = "Cannot append to a closed session"

    def __init__(self, closed_reason: str | None) -> None:
        super().__init__()
        self.closed_reason = closed_reason

    def render(self, behaviour: Behaviour) -> ErrorReply:
        body = {
            "ok": False,
            "error": self.text,
            "code": "session_closed",
            "closedReason": self.closed_reason,
        }
        return ErrorReply(self.status, body)


class AppendToExpiredSession(ChannelError):
    status = 400
    message = "Cannot append to an expired session"

    def render(self, behaviour: Behaviour) -> ErrorReply:
        body = {"ok": False, "error": self.text, "code": "session_expired"}
        return ErrorReply(self.status, body)


class OutNeedsSecretKey(ChannelError):
    """``.out`` belongs to the task: a public token may not write or initialize it."""

    status = 403
    message = "Appending to the out channel requires secret key authentication"


class InitializeOutNeedsSecretKey(ApiError):
    status = 403
    message = "Initializing the out channel requires secret key authentication"


class ResourceNotFound(ApiError):
    """An unknown session on a route that needs one (channel appends, end-and-continue)."""

    status = 404
    message = "Resource not found"


class StreamNotFound(ApiError):
    """An unknown ``session_…`` id on a channel read."""

    status = 404
    message = "Not found"

    def render(self, behaviour: Behaviour) -> ErrorReply:
        return ErrorReply(404, {"error": self.text}, {"x-should-retry": "false"})


class InitializeClosedSession(ApiError):
    status = 400
    message = "Cannot initialize a channel on a closed session"


class BadTimeoutSeconds(ApiError):
    status = 400
    message = "Invalid timeout seconds"


class S2Unauthorized(ApiError):
    """A call to the fake's S2 endpoint without the token initialize handed out."""

    status = 401
    message = "Invalid S2 access token"


class S2BadRequest(ApiError):
    status = 400


class S2SeqMismatch(ApiError):
    """``match_seq_num`` is not the stream's tail."""

    status = 412

    def __init__(self, tail: int) -> None:
        super().__init__(f"match_seq_num does not match the tail, {tail}")


class S2UnknownStream(ApiError):
    status = 404
    message = "No such stream: S2 stream names come from PUT /realtime/v1/sessions/…"


class RunNotFound(ApiError):
    """A run id that is not, and never was, a run of a session in the environment."""

    status = 404
    message = "Run not found"


class WaitpointNotFound(ApiError):
    status = 404
    message = "Waitpoint not found"


class WaitpointLimitReached(ApiError):
    """Waiting waitpoints alone fill what waitpoints may keep: the fake's own bound."""

    status = 507

    def render(self, behaviour: Behaviour) -> ErrorReply:
        return ErrorReply(self.status, {"error": self.text}, {LIMIT_HEADER: "waitpoints"})


class TooManyWaitpointTags(ApiError):
    status = 422

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"Waitpoints can only have {limit} tags, you're trying to set {count}.")
