"""``POST /api/v1/auth/public-tokens``: the server mints a public token for a key that
cannot sign one itself (a restricted key does not know its environment's signing key).

Rules, as the server's route applies them in both modes: the scopes asked for must lie
within the key's own; ``expirationTime`` is an epoch-seconds number or a relative time
(``15m``, ``2 hours``, ``1.5d``, ``+30s``, ``1 week from now``), ``15m`` when left out;
it must be in the future and at most 30 days away.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, Final

from ..core.errors import ApiError, ErrorReply
from ..core.fidelity import Behaviour
from .authenticator import Authenticator, Principal

MAX_LIFETIME_SECONDS: Final = 30 * 24 * 60 * 60
DEFAULT_EXPIRATION: Final = "15m"

_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 31_557_600}
_RELATIVE: Final = re.compile(
    r"(?P<sign>[+-])? ?(?P<amount>\d+(?:\.\d+)?) ?"
    r"(?P<unit>seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w|years?|yrs?|y)"
    r"(?: (?P<direction>ago|from now))?",
    re.IGNORECASE,
)


class InvalidExpiration(ApiError):
    status = 400
    message = "Invalid expiration time"


class ExpirationNotFuture(ApiError):
    status = 400
    message = "Expiration time must be in the future"


class ExpirationTooLong(ApiError):
    status = 400
    message = "Expiration time cannot exceed 30 days"


class ScopesExceedKey(ApiError):
    status = 403
    message = "Requested scopes exceed the API key's access"

    def __init__(self, denied: Sequence[str]) -> None:
        super().__init__()
        self.denied = list(denied)

    def render(self, behaviour: Behaviour) -> ErrorReply:
        body = {"error": self.text, "code": "scopes_exceed_key_access", "deniedScopes": self.denied}
        return ErrorReply(403, body)


def expires_at(expiration: str | float, now: int) -> float:
    """The token's ``exp`` (epoch seconds) for ``expiration``, checked."""
    if isinstance(expiration, str):
        found = _RELATIVE.fullmatch(expiration)
        if found is None or (found["sign"] and found["direction"]):
            raise InvalidExpiration()
        unit = found["unit"].lower()
        # JavaScript's Math.round: halves go up.
        seconds = math.floor(float(found["amount"]) * _UNIT_SECONDS[unit[0]] + 0.5)
        past = found["sign"] == "-" or (found["direction"] or "").lower() == "ago"
        at: float = now - seconds if past else now + seconds
    else:
        at = expiration
    if at <= now:
        raise ExpirationNotFuture()
    if at - now > MAX_LIFETIME_SECONDS:
        raise ExpirationTooLong()
    return at


def mint(authenticator: Authenticator, principal: Principal, body: dict[str, Any]) -> str:
    """A token for the caller's environment carrying the scopes ``body`` asks for."""
    scopes = [str(s) for s in body["scopes"]]
    denied = principal.ability.denied(scopes)
    if denied:
        raise ScopesExceedKey(denied)
    at = expires_at(body.get("expirationTime", DEFAULT_EXPIRATION), authenticator.now_seconds())
    extra: dict[str, Any] = {}
    if body.get("oneTimeUse"):
        extra["otu"] = True
    if body.get("realtime") is not None:
        extra["realtime"] = body["realtime"]
    exp = int(at) if float(at).is_integer() else at
    return authenticator.sign(principal.environment, scopes, expires_at=exp, extra=extra)
