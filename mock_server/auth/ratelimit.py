"""The deployed server's API rate limiter as domain logic: which requests count, which
budget a credential draws on, whether a request fits. The HTTP layer turns a :class:`Verdict`
into ``x-ratelimit-*`` headers or a 429. The arithmetic is that of Upstash's token bucket and
fixed window (which the server runs in Redis), kept in memory and timed by the fake's clock,
so moving the clock refills buckets and opens new windows."""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from typing import Any, ClassVar, Final, TypeVar

from ..core.clock import Clock
from ..core.errors import ApiError
from .authenticator import Authenticator
from .tokens import bearer_credential, public_token_claims

MAX_TRACKED: Final = 100_000
_EXEMPT: Final = re.compile(r"/api/v1/auth/jwt/claims|/api/v1/sessions/[^/]+/snapshot-url")
_WHOLE_NUMBER: Final = re.compile(r"[0-9]+")
_DECIMAL: Final = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_USAGE: Final = "expected off, deployed or N/SECONDS (for example 100/10)"
_V = TypeVar("_V")


def behind_the_limiter(path: str) -> bool:
    """Whether the deployed server's limiting middleware (which also refuses requests
    with no ``Authorization`` header) handles ``path``: ``/api/*`` but for the few routes
    it lets through (raw path, no query)."""
    return path.startswith("/api") and not _EXEMPT.fullmatch(path)


@dataclass(frozen=True, slots=True)
class TokenBucket:
    """Holds up to ``max_tokens``; every ``interval_ms`` puts ``refill_rate`` back."""

    max_tokens: int
    refill_rate: int
    interval_ms: int
    kind: ClassVar[str] = "tokenBucket"

    @property
    def limit(self) -> int:
        return self.max_tokens


@dataclass(frozen=True, slots=True)
class FixedWindow:
    """``tokens`` requests per window of ``window_ms``, windows aligned on the epoch."""

    tokens: int
    window_ms: int
    kind: ClassVar[str] = "fixedWindow"

    @property
    def limit(self) -> int:
        return self.tokens


LimitConfig = TokenBucket | FixedWindow


@dataclass(frozen=True, slots=True)
class LimitPolicy:
    """The budgets in force: one for secret keys (and credentials the server cannot place),
    one for public access tokens. ``text`` is the policy's canonical spelling."""

    text: str
    secret_key: LimitConfig
    public_token: LimitConfig

    @classmethod
    def parse(cls, text: str) -> LimitPolicy | None:
        """Read ``off`` (no limiter, so ``None``), ``deployed`` (the server's defaults) or
        ``N/SECONDS``: a bucket of N tokens, all N refilled every SECONDS, for every
        credential. Raises ``ValueError`` saying what is wrong."""
        spec = text.strip()
        if spec.lower() == "off":
            return None
        if spec.lower() == "deployed":
            return DEPLOYED_POLICY
        count, slash, seconds_text = spec.partition("/")
        if not slash:
            raise ValueError(f"bad rate limit policy {text!r}: {_USAGE}")
        if not _WHOLE_NUMBER.fullmatch(count) or int(count) < 1:
            raise ValueError(f"in {text!r}, N must be a whole number of requests, at least 1")
        seconds = float(seconds_text) if _DECIMAL.fullmatch(seconds_text) else 0.0
        interval_ms = round(seconds * 1000)
        if not 0 < seconds <= 86_400 or interval_ms < 1:
            raise ValueError(f"in {text!r}, SECONDS must be a number from 0.001 to 86400")
        tokens = int(count)
        shown = repr(seconds).removesuffix(".0")
        bucket = TokenBucket(tokens, tokens, interval_ms)
        return cls(f"{tokens}/{shown}", bucket, bucket)

    def describe(self) -> str:
        """The text that parses back to this policy."""
        return self.text


DEPLOYED_POLICY: Final = LimitPolicy(
    "deployed",
    secret_key=TokenBucket(max_tokens=750, refill_rate=250, interval_ms=10_000),
    public_token=FixedWindow(tokens=60, window_ms=60_000),
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """One request's outcome, in the terms the server's headers and 429 body use."""

    success: bool
    limit: int
    remaining: int  # unclamped: a token-bucket refusal says -1
    reset_ms: int  # Unix ms when the limit resets
    kind: str  # "tokenBucket" | "fixedWindow"

    @property
    def header_remaining(self) -> int:
        """``remaining`` as the ``x-ratelimit-remaining`` header shows it (never negative)."""
        return max(0, self.remaining)

    def seconds_until_reset(self, now_ms: int) -> float:
        return max(0.0, (self.reset_ms - now_ms) / 1000)


@dataclass(slots=True)
class _BucketState:
    refilled_at: int
    tokens: int
    expires_at: int  # like a Redis TTL: the state is gone once the clock passes it


class RateLimiter:
    """Counts API requests per credential under a :class:`LimitPolicy` (``None``: off).

    Memory stays bounded: a token-bucket state whose expiry has passed is dropped when its
    identifier is next seen, a fixed-window counter is replaced when its window ends, and
    each of the two stores tracks at most ``max_tracked`` identifiers, forgetting the one
    least recently used when a new one would exceed it.
    """

    max_tracked: int = MAX_TRACKED

    def __init__(
        self, policy: LimitPolicy | None, authenticator: Authenticator, clock: Clock
    ) -> None:
        self.policy = policy
        """Read on every request by the failures layer: a plain attribute (no call); change
        it with :meth:`set_policy`."""
        self._authenticator = authenticator
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, _BucketState] = {}
        self._windows: dict[str, tuple[int, int]] = {}  # identifier -> (window index, used)

    def set_policy(self, policy: LimitPolicy | None) -> None:
        """Switch policy; every counter starts again."""
        with self._lock:
            self.policy, self._buckets, self._windows = policy, {}, {}

    def reset(self) -> None:
        """Forget every counter, keeping the policy."""
        with self._lock:
            self._buckets, self._windows = {}, {}

    def check(self, method: str, path: str, authorization: str | None) -> Verdict | None:
        """Spend one request for ``authorization`` and say whether it fits, or ``None`` when
        the request is not limited: limiter off, a path outside ``/api`` or exempt from the
        limit (``path`` without its query), an ``OPTIONS`` request, or no credential."""
        if (policy := self.policy) is None:
            return None
        if not authorization or method.upper() == "OPTIONS":
            return None
        if not behind_the_limiter(path):
            return None
        config, identifier = self._resolve(policy, authorization)
        now = self._clock.now_ms()
        with self._lock:
            if isinstance(config, FixedWindow):
                return self._count_in_window(config, identifier, now)
            return self._take_token(config, identifier, now)

    def deployed_limit_for(self, authorization: str | None) -> tuple[int, str]:
        """The ``(limit, kind)`` this credential draws on under the current policy, or under
        ``deployed`` when the limiter is off. Spends nothing."""
        policy = self.policy or DEPLOYED_POLICY
        if not authorization:
            return policy.secret_key.limit, policy.secret_key.kind
        config, _ = self._resolve(policy, authorization)
        return config.limit, config.kind

    def describe(self) -> dict[str, Any]:
        policy = self.policy
        with self._lock:
            tracked = len(self._buckets) + len(self._windows)
        return {"policy": policy.describe() if policy else "off", "buckets": tracked}

    def _resolve(self, policy: LimitPolicy, authorization: str) -> tuple[LimitConfig, str]:
        """Which budget and whose: a secret key's environment, a delegated token's acting
        user in its environment, else the SHA-256 of the whole header."""
        credential = bearer_credential(authorization)
        if credential is None:
            return policy.secret_key, _digest(authorization)
        try:
            if credential.startswith("tr_"):
                return policy.secret_key, self._authenticator.environments.by_key(credential).id
            claims = public_token_claims(credential)
            if claims is None:
                return policy.secret_key, _digest(authorization)
            env = self._authenticator.public_token(credential, claims).environment
        except ApiError:  # a key or token the fake refuses: its own bucket, by header hash
            return policy.secret_key, _digest(authorization)
        actor = claims.get("act")
        actor_sub = actor.get("sub") if isinstance(actor, dict) else None
        if isinstance(actor_sub, str) and actor_sub:
            # The actor's id, digested: a self-minted token's act.sub is any length.
            actor = hashlib.sha256(actor_sub.encode("utf-8", "surrogatepass")).hexdigest()
            return policy.public_token, f"jwt-actor:{env.id}:{actor}"
        return policy.public_token, _digest(authorization)

    def _take_token(self, config: TokenBucket, identifier: str, now: int) -> Verdict:
        interval = config.interval_ms
        state = self._buckets.pop(identifier, None)
        if state is None or now > state.expires_at:
            state = None
            refilled_at, tokens = now, config.max_tokens
        else:
            refilled_at, tokens = state.refilled_at, state.tokens
        if now >= refilled_at + interval:
            refills = (now - refilled_at) // interval
            tokens = min(config.max_tokens, tokens + refills * config.refill_rate)
            refilled_at += refills * interval
        if tokens <= 0:
            if state is not None:  # a refusal writes nothing: the stored state stays as it was
                self._remember(self._buckets, identifier, state)
            return Verdict(False, config.max_tokens, -1, refilled_at + interval, config.kind)
        remaining = tokens - 1
        # Time until the bucket would be full again; always at least one interval here.
        refills_to_full = -(-(config.max_tokens - remaining) // config.refill_rate)
        expires_at = now + refills_to_full * interval
        self._remember(self._buckets, identifier, _BucketState(refilled_at, remaining, expires_at))
        return Verdict(True, config.max_tokens, remaining, refilled_at + interval, config.kind)

    def _count_in_window(self, config: FixedWindow, identifier: str, now: int) -> Verdict:
        window = now // config.window_ms
        previous = self._windows.pop(identifier, None)
        used = previous[1] + 1 if previous is not None and previous[0] == window else 1
        self._remember(self._windows, identifier, (window, used))  # refusals count too
        remaining = max(0, config.tokens - used)
        reset = (window + 1) * config.window_ms
        return Verdict(used <= config.tokens, config.tokens, remaining, reset, config.kind)

    def _remember(self, store: dict[str, _V], identifier: str, value: _V) -> None:
        store[identifier] = value
        while len(store) > self.max_tracked:
            del store[next(iter(store))]


def _digest(authorization: str) -> str:
    """A bucket's identifier for a credential the limiter cannot place: the header's hash."""
    return hashlib.sha256(authorization.encode()).hexdigest()
