"""Fault rules as data: what a rule matches, what it does, how often, and the book that
keeps them in order and decides, request by request, which one fires.

A rule's wire form is the ``FaultRule`` schema of ``openapi/admin.yaml``; reading and
checking one is :mod:`mock_server.http.failures.reader`.
"""

from __future__ import annotations

import fnmatch
import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

from ...auth.environments import claimed_environment
from ...core.errors import ApiError

ANSWERS: Final = ("status", "rateLimit", "drop", "dribble", "cutAfterRecords")
DEFAULT_MAX_DELAY_MS: Final = 60_000
NO_BODY_STATUSES: Final = frozenset({204, 304})


class FaultNotFound(ApiError):
    status = 404

    def __init__(self, rule_id: str) -> None:
        super().__init__(f"No fault rule {rule_id!r}")


class RequestFacts:
    """What a rule can match on, worked out only when a rule asks."""

    def __init__(
        self,
        method: str,
        path: str,
        authorization: str | None,
        operation_of: Callable[[str, str], str | None],
    ) -> None:
        self.method = method
        self.path = path
        self._authorization = authorization
        self._operation_of = operation_of

    @cached_property
    def operation(self) -> str | None:
        return self._operation_of(self.method, self.path)

    @cached_property
    def environment(self) -> str | None:
        return claimed_environment(self._authorization)


@dataclass(frozen=True, slots=True)
class Match:
    operation: str | None = None
    method: str | None = None
    path: str | None = None
    environment: str | None = None
    """An environment id (a secret key given is turned into its id)."""

    def holds(self, facts: RequestFacts) -> bool:
        if self.method is None:
            if facts.method == "OPTIONS":  # a preflight is matched only when named
                return False
        elif facts.method != self.method:
            return False
        if self.path is not None and not fnmatch.fnmatchcase(facts.path, self.path):
            return False
        if self.operation is not None and facts.operation != self.operation:
            return False
        return self.environment is None or facts.environment == self.environment


@dataclass(frozen=True, slots=True)
class Delay:
    """How long to wait before answering, in ms: fixed, uniform, or lognormal."""

    kind: str
    first: float
    second: float = 0.0
    max_ms: float = DEFAULT_MAX_DELAY_MS

    def sample(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            return self.first
        if self.kind == "uniform":
            return rng.uniform(self.first, self.second)
        return min(self.max_ms, self.first * math.exp(self.second * rng.gauss(0.0, 1.0)))


@dataclass(frozen=True, slots=True)
class Action:
    """What a rule does to a request it fires on."""

    delay: Delay | None = None
    status: int | None = None
    body: Any = None
    has_body: bool = False
    headers: tuple[tuple[str, str], ...] = ()
    after_store: bool = False
    rate_limit_reset_s: float | None = None
    rate_limit_limit: int | None = None
    drop: str | None = None
    dribble: tuple[int, int] | None = None
    """``(chunks, totalMs)``."""
    cut_after_records: int | None = None


@dataclass
class FaultRule:
    id: str
    match: Match
    action: Action
    times: int | None
    probability: float
    seed: int | None
    wire: dict[str, Any]
    """The rule as given (match and action), for listing it back."""
    fired: int = 0
    rng: random.Random = field(default_factory=random.Random)

    @property
    def remaining(self) -> int | None:
        return None if self.times is None else self.times - self.fired

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "match": self.wire.get("match", {}),
            "action": self.wire["action"],
            "times": self.times,
            "probability": self.probability,
            "seed": self.seed,
            "fired": self.fired,
            "remaining": self.remaining,
        }


class FaultBook:
    """The rules, in the order they were added. ``armed`` is a plain attribute (read on
    every request without a call): true while some rule can still fire."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._count = 0
        self.armed = False

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._count += 1
            rule.id = f"fault_{self._count}"
            self._rules.append(rule)
            self._rearm()
        return rule

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def get(self, rule_id: str) -> FaultRule:
        with self._lock:
            found = next((r for r in self._rules if r.id == rule_id), None)
        if found is None:
            raise FaultNotFound(rule_id)
        return found

    def remove(self, rule_id: str) -> None:
        with self._lock:
            kept = [r for r in self._rules if r.id != rule_id]
            if len(kept) == len(self._rules):
                raise FaultNotFound(rule_id)
            self._rules = kept
            self._rearm()

    def clear(self, *, restart_ids: bool = False) -> int:
        """Forget every rule; how many there were. A full reset also restarts the ids."""
        with self._lock:
            removed = len(self._rules)
            self._rules = []
            if restart_ids:
                self._count = 0
            self.armed = False
        return removed

    def clear_environment(self, env_id: str) -> int:
        """Forget the rules scoped to one environment (a reset of that environment)."""
        with self._lock:
            kept = [r for r in self._rules if r.match.environment != env_id]
            removed = len(self._rules) - len(kept)
            self._rules = kept
            self._rearm()
        return removed

    def pick(self, facts: RequestFacts) -> FaultRule | None:
        """The rule that fires on this request, counted as fired; ``None`` if none."""
        with self._lock:
            for rule in self._rules:
                if rule.remaining == 0 or not rule.match.holds(facts):
                    continue
                if rule.probability < 1 and rule.rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                if rule.remaining == 0:
                    self._rearm()
                return rule
        return None

    def _rearm(self) -> None:
        self.armed = any(rule.remaining != 0 for rule in self._rules)
