"""The request journal: the most recent requests the fake answered, for tests to verify
what their code under test sent (``GET /_mock/requests``).

Bounded: the oldest entries drop out once ``capacity`` is reached. The control plane's own
requests are not journaled, so reading the journal does not change it.
"""

from __future__ import annotations

import fnmatch
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from ..auth.environments import claimed_environment, environment_id_of
from ..core.times import iso_ms

DEFAULT_CAPACITY: Final = 1000


class Entry(NamedTuple):
    """One answered request (a tuple: built on every request, it must be cheap)."""

    number: int
    at_ms: int
    method: str
    path: str
    query: str
    status: int
    latency_ms: float
    authorization: str | None
    """The raw header: which environment it names is worked out only when asked."""
    request_bytes: int
    response_bytes: int
    fault: str | None = None
    """The id of the fault rule that fired on the request."""

    @property
    def environment(self) -> str | None:
        return claimed_environment(self.authorization)

    def to_wire(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "at": iso_ms(self.at_ms),
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "latencyMs": round(self.latency_ms, 2),
            "environment": self.environment,
            "requestBytes": self.request_bytes,
            "responseBytes": self.response_bytes,
            "fault": self.fault,
        }


@dataclass(frozen=True, slots=True)
class Query:
    """Which entries a test asks for; every field left ``None`` matches anything."""

    method: str | None = None
    path: str | None = None
    """A glob: ``/realtime/v1/sessions/*/in/append``."""
    status: int | None = None
    environment: str | None = None
    """A secret key or an environment id."""

    def __post_init__(self) -> None:
        if self.environment is not None:
            object.__setattr__(self, "environment", environment_id_of(self.environment))

    def matches(self, entry: Entry) -> bool:
        if self.method is not None and entry.method != self.method.upper():
            return False
        if self.path is not None and not fnmatch.fnmatchcase(entry.path, self.path):
            return False
        if self.status is not None and entry.status != self.status:
            return False
        return self.environment is None or entry.environment == self.environment


class RequestJournal:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._lock = threading.Lock()
        self._entries: deque[Entry] = deque(maxlen=capacity)
        self._count = 0

    def record(self, **fields: Any) -> None:
        with self._lock:
            self._count += 1
            self._entries.append(Entry(number=self._count, **fields))

    def find(self, query: Query, limit: int) -> list[Entry]:
        """Matching entries, newest first."""
        with self._lock:
            entries = list(self._entries)
        found = []
        for entry in reversed(entries):
            if query.matches(entry):
                found.append(entry)
                if len(found) == limit:
                    break
        return found

    @property
    def total(self) -> int:
        """Requests journaled since the last clear (including those that dropped out)."""
        return self._count

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._count = 0
