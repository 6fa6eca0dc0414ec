"""Fault rules as data: what a rule matches, what it does, how often, and the book that
keeps them in order and decides, request by request, which one fires.

A rule's wire form is the ``FaultRule`` schema of ``openapi/admin.yaml``;
:class:`RuleReader` checks a body against that schema, then the rules the schema cannot
say (which fields go together, known operationIds), so the control plane and
``--faults FILE`` refuse the same things with the same messages.
"""

from __future__ import annotations

import fnmatch
import math
import random
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

from ...auth.environments import claimed_environment, environment_id_of
from ...core.errors import ApiError, Issue, ValidationFailed
from ..schema_issues import SchemaValidators

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
        self, method: str, path: str, authorization: str | None, operation_of: Any
    ) -> None:
        self.method = method
        self.path = path
        self._authorization = authorization
        self._operation_of = operation_of

    @cached_property
    def operation(self) -> str | None:
        result: str | None = self._operation_of(self.method, self.path)
        return result

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

    @property
    def answers_alone(self) -> bool:
        """True when the request never reaches the API (a status before the store, a 429,
        a drop)."""
        return (
            self.drop is not None
            or self.rate_limit_reset_s is not None
            or (self.status is not None and not self.after_store)
        )


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


class RuleReader:
    """Turns a rule's wire form into a :class:`FaultRule`, or refuses it with a
    :class:`ValidationFailed` naming every problem."""

    def __init__(self, schema: dict[str, Any], operation_ids: frozenset[str]) -> None:
        self._schema = schema
        self._operation_ids = operation_ids
        self._validators = SchemaValidators()

    def read(self, body: Any) -> FaultRule:
        issues = self._validators.issues(self._schema, body)
        if not issues:
            issues = self._combination_issues(body)
        if issues:
            raise ValidationFailed(issues)
        given = body.get("match") or {}
        environment = given.get("environment")
        match = Match(
            operation=given.get("operation"),
            method=given["method"].upper() if "method" in given else None,
            path=given.get("path"),
            environment=None if environment is None else environment_id_of(environment),
        )
        seed = body.get("seed")
        return FaultRule(
            id="",
            match=match,
            action=_action(body["action"]),
            times=body.get("times", 1),
            probability=float(body.get("probability", 1)),
            seed=seed,
            wire={"match": given, "action": body["action"]},
            rng=random.Random(seed) if seed is not None else random.Random(),
        )

    def _combination_issues(self, body: dict[str, Any]) -> list[Issue]:
        issues: list[Issue] = []

        def problem(message: str, *path: str) -> None:
            issues.append(Issue("custom", message, path))

        operation = (body.get("match") or {}).get("operation")
        if operation is not None and operation not in self._operation_ids:
            problem(f"Unknown operationId {operation!r}", "match", "operation")
        action = body["action"]
        answers = [name for name in ANSWERS if name in action]
        if len(answers) > 1:
            problem(f"Give at most one of {', '.join(ANSWERS)}", "action")
        if "delayMs" in action and "delay" in action:
            problem("Give delayMs or delay, not both", "action")
        if not answers and "delayMs" not in action and "delay" not in action:
            problem("The action does nothing: give a status, rateLimit, drop, dribble, "
                    "cutAfterRecords or a delay", "action")  # fmt: skip
        for name in ("body", "headers", "afterStore"):
            if name in action and "status" not in action:
                problem(f"{name} goes with status", "action", name)
        if action.get("status") in NO_BODY_STATUSES and "body" in action:
            problem(f"A {action['status']} answer has no body", "action", "body")
        for name in action.get("headers", {}):
            if not name or not all(c.isascii() and (c.isalnum() or c in "!#$%&'*+-.^_`|~")
                                   for c in name):  # fmt: skip
                problem(f"Not a header name: {name!r}", "action", "headers")
        for name, value in action.get("headers", {}).items():
            if any(c in value for c in "\r\n\0"):
                problem("A header value cannot hold CR, LF or NUL", "action", "headers", name)
        delay = action.get("delay")
        if delay is not None:
            issues += _delay_issues(delay)
        return issues


def _delay_issues(delay: dict[str, Any]) -> list[Issue]:
    wanted = {"fixed": ("ms",), "uniform": ("lowerMs", "upperMs"), "lognormal": ("medianMs",)}
    allowed = {"fixed": {"ms"}, "uniform": {"lowerMs", "upperMs"},
               "lognormal": {"medianMs", "sigma", "maxMs"}}  # fmt: skip
    kind = delay["type"]
    issues = [
        Issue("custom", f"A {kind} delay needs {name}", ("action", "delay", name))
        for name in wanted[kind]
        if name not in delay
    ]
    issues += [
        Issue("custom", f"A {kind} delay takes no {name}", ("action", "delay", name))
        for name in sorted(set(delay) - {"type"} - allowed[kind])
    ]
    if kind == "uniform" and not issues and delay["lowerMs"] > delay["upperMs"]:
        issues.append(Issue("custom", "lowerMs is above upperMs", ("action", "delay")))
    if any(delay.get(name, 0) > 600_000 for name in ("ms", "lowerMs", "upperMs", "medianMs")):
        issues.append(Issue("custom", "A delay is at most 600000 ms", ("action", "delay")))
    return issues


def _action(wire: dict[str, Any]) -> Action:
    delay = None
    if "delayMs" in wire:
        delay = Delay("fixed", float(wire["delayMs"]))
    elif "delay" in wire:
        given = wire["delay"]
        kind = given["type"]
        if kind == "fixed":
            delay = Delay("fixed", float(given["ms"]))
        elif kind == "uniform":
            delay = Delay("uniform", float(given["lowerMs"]), float(given["upperMs"]))
        else:
            cap = float(given.get("maxMs", DEFAULT_MAX_DELAY_MS))
            delay = Delay("lognormal", float(given["medianMs"]), float(given.get("sigma", 0)), cap)
    rate_limit = wire.get("rateLimit")
    dribble = wire.get("dribble")
    return Action(
        delay=delay,
        status=wire.get("status"),
        body=wire.get("body"),
        has_body="body" in wire,
        headers=tuple((k.lower(), v) for k, v in wire.get("headers", {}).items()),
        after_store=bool(wire.get("afterStore", False)),
        rate_limit_reset_s=None if rate_limit is None else float(rate_limit["resetSeconds"]),
        rate_limit_limit=None if rate_limit is None else rate_limit.get("limit"),
        drop=wire.get("drop"),
        dribble=None if dribble is None else (dribble["chunks"], dribble["totalMs"]),
        cut_after_records=wire.get("cutAfterRecords"),
    )
