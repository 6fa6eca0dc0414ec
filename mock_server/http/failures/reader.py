"""Reading a fault rule's wire form (the ``FaultRule`` schema of ``openapi/admin.yaml``):
the schema first, then what the schema cannot say (which fields go together, known
operationIds), so the control plane and ``--faults FILE`` refuse the same things with the
same messages."""

from __future__ import annotations

import random
from typing import Any

from ...auth.environments import environment_id_of
from ...core.errors import Issue, ValidationFailed
from ..schema_issues import SchemaValidators
from .rules import (
    ANSWERS,
    DEFAULT_MAX_DELAY_MS,
    NO_BODY_STATUSES,
    Action,
    Delay,
    FaultRule,
    Match,
)


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
