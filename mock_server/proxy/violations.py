"""What the checks found: violations, kept for ``GET /_mock/violations``, written to the
``--report`` file, and summed up at the end; and the fidelity readings the proxy saw.

The list is bounded (the oldest drop out past ``capacity``, counted in ``dropped``); the
totals per rule and the readings per fidelity row keep counting regardless.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, Literal

import orjson

from ..core.times import iso_ms

DEFAULT_CAPACITY: Final = 10_000
Direction = Literal["request", "response"]
Reading = Literal["documented", "deployed"]


@dataclass(frozen=True, slots=True)
class Finding:
    """What one check saw wrong with one side of an exchange."""

    direction: Direction
    rule: str
    message: str


@dataclass(frozen=True, slots=True)
class Violation:
    id: str
    at_ms: int
    exchange: int
    """The journal number of the exchange."""
    direction: Direction
    operation: str | None
    method: str
    path: str
    status: int
    rule: str
    message: str

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": iso_ms(self.at_ms),
            "exchange": self.exchange,
            "direction": self.direction,
            "operation": self.operation,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "rule": self.rule,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class ViolationQuery:
    rule: str | None = None
    direction: str | None = None
    operation: str | None = None
    method: str | None = None
    status: int | None = None
    exchange: int | None = None
    after: str | None = None
    """Only violations newer than this id (``v_12``), oldest first."""

    def matches(self, violation: Violation) -> bool:
        return (
            (self.rule is None or violation.rule == self.rule)
            and (self.direction is None or violation.direction == self.direction)
            and (self.operation is None or violation.operation == self.operation)
            and (self.method is None or violation.method == self.method.upper())
            and (self.status is None or violation.status == self.status)
            and (self.exchange is None or violation.exchange == self.exchange)
        )


def _serial(violation_id: str) -> int:
    head, _, digits = violation_id.partition("_")
    return int(digits) if head == "v" and digits.isdigit() else -1


@dataclass
class ViolationLog:
    capacity: int = DEFAULT_CAPACITY
    report: IO[bytes] | None = None
    """The ``--report`` file: one JSON object per line, flushed as each is found."""
    _items: deque[Violation] = field(default_factory=deque)
    _serial: int = 0
    dropped: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    readings: dict[str, Counter[str]] = field(default_factory=dict)
    """Fidelity row → how many exchanges showed each reading."""
    exchanges: int = 0
    with_violations: int = 0
    refused: int = 0
    """Requests that broke the contract and were refused by the upstream."""
    left_alone: Counter[str] = field(default_factory=Counter)
    """Answers not checked, by why."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def writing_to(cls, path: Path | None, capacity: int = DEFAULT_CAPACITY) -> ViolationLog:
        handle = None if path is None else path.open("ab")
        return cls(capacity=capacity, report=handle)

    def add(
        self,
        findings: list[Finding],
        *,
        exchange: int,
        at_ms: int,
        operation: str | None,
        method: str,
        path: str,
        status: int,
    ) -> list[Violation]:
        added = []
        with self._lock:
            self.exchanges += 1
            if findings:
                self.with_violations += 1
            for finding in findings:
                self._serial += 1
                violation = Violation(
                    id=f"v_{self._serial}",
                    at_ms=at_ms,
                    exchange=exchange,
                    direction=finding.direction,
                    operation=operation,
                    method=method,
                    path=path,
                    status=status,
                    rule=finding.rule,
                    message=finding.message,
                )
                self._items.append(violation)
                self.by_rule[finding.rule] += 1
                if len(self._items) > self.capacity:
                    self._items.popleft()
                    self.dropped += 1
                added.append(violation)
            if self.report is not None and added:
                self.report.write(b"".join(orjson.dumps(v.to_wire()) + b"\n" for v in added))
                self.report.flush()
        return added

    def note(self, *, refused: bool, left_alone: str | None) -> None:
        with self._lock:
            self.refused += refused
            if left_alone is not None:
                self.left_alone[left_alone] += 1

    def read(self, row: str, reading: Reading) -> None:
        with self._lock:
            self.readings.setdefault(row, Counter())[reading] += 1

    def find(self, query: ViolationQuery, limit: int) -> list[Violation]:
        """Newest first; with ``after``, the ones after it, oldest first."""
        with self._lock:
            items = list(self._items)
        if query.after is not None:
            floor = _serial(query.after)
            return [v for v in items if _serial(v.id) > floor and query.matches(v)][:limit]
        return [v for v in reversed(items) if query.matches(v)][:limit]

    @property
    def total(self) -> int:
        return sum(self.by_rule.values())

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.by_rule.clear()
            self.readings.clear()
            self.dropped = 0
            self.exchanges = 0
            self.with_violations = 0
            self.refused = 0
            self.left_alone.clear()

    def summary(self, topic_of: Callable[[str], str]) -> dict[str, Any]:
        with self._lock:
            return {
                "exchanges": self.exchanges,
                "exchangesWithViolations": self.with_violations,
                "violations": sum(self.by_rule.values()),
                "dropped": self.dropped,
                "byRule": dict(sorted(self.by_rule.items())),
                "refusedRequests": self.refused,
                "leftAlone": dict(sorted(self.left_alone.items())),
                "fidelity": [
                    {
                        "row": row,
                        "topic": topic_of(row),
                        "documented": counts.get("documented", 0),
                        "deployed": counts.get("deployed", 0),
                    }
                    for row, counts in sorted(self.readings.items())
                ],
            }

    def close(self) -> None:
        if self.report is not None:
            self.report.close()
            self.report = None
