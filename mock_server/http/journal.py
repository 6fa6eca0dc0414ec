"""The request journal: the most recent requests the fake answered, for tests to verify
what their code under test sent (``GET /_mock/requests``) and for a dashboard to show each
exchange in full (``GET /_mock/requests/{number}``, as cURL, as HAR).

Bounded: the oldest entries drop out once ``capacity`` is reached, each entry keeps at
most :data:`BODY_CAP` bytes of each body, and all entries together keep at most
:data:`BODY_BUDGET` bytes of bodies: past it the oldest entries let go of theirs (their
detail then says the body was truncated, with nothing kept). Recording sits on every
request's path, so an entry holds what the edge saw as it was (the header lists
themselves, the body chunks up to the cap) and nothing is decoded, joined or named until
someone asks. The control plane's own requests are not journaled,
so reading the journal does not change it.
"""

from __future__ import annotations

import fnmatch
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from ..auth.environments import claimed_environment, environment_id_of
from ..core.times import iso_ms

DEFAULT_CAPACITY: Final = 1000
BODY_CAP: Final = 64 * 1024
"""How much of each request and response body an entry keeps (an event stream's first
bytes)."""
BODY_BUDGET: Final = 16 * 1024 * 1024
"""How much of their bodies all entries keep together (without it, up to 128 MiB: a full
journal of 900 KB appends)."""

RawHeaders = Sequence[tuple[bytes, bytes]]
OperationOf = Callable[[str, str], str | None]
"""The ``operationId`` of a method and raw path (:meth:`OperationRoutes.operation_of`)."""


class Entry(NamedTuple):
    """One answered request (a tuple: built on every request, it must be cheap)."""

    number: int
    at_ms: int
    method: str
    path: str
    query: str
    status: int
    latency_ms: float
    request_headers: RawHeaders
    """The headers as the server passed them (the list itself, not a copy)."""
    request_bytes: int
    response_bytes: int
    fault: str | None = None
    """The id of the fault rule that fired on the request."""
    request_body: Sequence[bytes] = ()
    """The body's first :data:`BODY_CAP` bytes, in the chunks they came in."""
    response_headers: RawHeaders = ()
    response_body: Sequence[bytes] = ()
    scheme: str = "http"
    http_version: str = "1.1"
    server: tuple[str, int | None] | None = None
    """Where the request was received, for a URL when it had no ``Host``."""
    client: tuple[str, int] | None = None
    """The peer that sent it: whether its forwarding headers are believed."""
    violations: int | None = None
    """The proxy's entries: how many contract violations the exchange showed."""

    @property
    def authorization(self) -> str | None:
        """The raw header: which environment it names is worked out only when asked."""
        return next(
            (v.decode("latin-1") for k, v in self.request_headers if k == b"authorization"),
            None,
        )

    @property
    def environment(self) -> str | None:
        return claimed_environment(self.authorization)

    def to_wire(self, operation: str | None = None) -> dict[str, Any]:
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
            "operation": operation,
        } | ({} if self.violations is None else {"violations": self.violations})


@dataclass(frozen=True, slots=True)
class Query:
    """Which entries a test asks for; every field left ``None`` matches anything."""

    method: str | None = None
    path: str | None = None
    """A glob: ``/realtime/v1/sessions/*/in/append``."""
    status: int | None = None
    environment: str | None = None
    """A secret key or an environment id."""
    operation: str | None = None
    """An ``operationId``, named by ``operation_of``."""
    after: int | None = None
    """Only entries with a larger ``number``."""
    operation_of: OperationOf = field(default=lambda method, path: None, compare=False)

    def __post_init__(self) -> None:
        if self.environment is not None:
            object.__setattr__(self, "environment", environment_id_of(self.environment))

    def matches(self, entry: Entry) -> bool:
        if self.after is not None and entry.number <= self.after:
            return False
        if self.method is not None and entry.method != self.method.upper():
            return False
        if self.path is not None and not fnmatch.fnmatchcase(entry.path, self.path):
            return False
        if self.status is not None and entry.status != self.status:
            return False
        if self.operation is not None and (
            self.operation_of(entry.method, entry.path) != self.operation
        ):
            return False
        return self.environment is None or entry.environment == self.environment


def _body_bytes(entry: Entry) -> int:
    return sum(map(len, entry.request_body)) + sum(map(len, entry.response_body))


def _let_go_of_bodies(entry: Entry) -> int:
    """Empty the entry's body chunk lists (the edge gives lists); the bytes freed."""
    freed = 0
    for chunks in (entry.request_body, entry.response_body):
        if isinstance(chunks, list):
            freed += sum(map(len, chunks))
            chunks.clear()
    return freed


class RequestJournal:
    def __init__(self, capacity: int = DEFAULT_CAPACITY, body_budget: int = BODY_BUDGET) -> None:
        self._lock = threading.Lock()
        self._entries: deque[Entry] = deque(maxlen=capacity)
        self._count = 0
        self._body_budget = body_budget
        self.body_bytes = 0
        """Body bytes the entries keep, all together."""
        self._bodied: deque[Entry] = deque()
        """Entries that may still keep bodies, oldest first."""

    def record(self, **fields: Any) -> int:
        """Journal an exchange; its number."""
        with self._lock:
            self._count += 1
            entry = Entry(number=self._count, **fields)
            if len(self._entries) == self._entries.maxlen:  # the oldest drops out
                oldest = self._entries[0]
                # Only entries in _bodied (oldest first) still keep bodies.
                if self._bodied and self._bodied[0] is oldest:
                    self.body_bytes -= _let_go_of_bodies(self._bodied.popleft())
            self._entries.append(entry)
            size = _body_bytes(entry)
            if size:
                self.body_bytes += size
                self._bodied.append(entry)
                while self.body_bytes > self._body_budget and len(self._bodied) > 1:
                    self.body_bytes -= _let_go_of_bodies(self._bodied.popleft())
            return self._count

    def find(self, query: Query, limit: int) -> list[Entry]:
        """Matching entries, newest first; oldest first with ``query.after`` (what a
        poller appends to what it has)."""
        with self._lock:
            entries = list(self._entries)
        found = []
        for entry in entries if query.after is not None else reversed(entries):
            if query.matches(entry):
                found.append(entry)
                if len(found) == limit:
                    break
        return found

    def get(self, number: int) -> Entry | None:
        """The entry with that number, unless it has dropped out."""
        with self._lock:
            if not self._entries:
                return None
            at = number - self._entries[0].number
            return self._entries[at] if 0 <= at < len(self._entries) else None

    @property
    def total(self) -> int:
        """Requests journaled since the last clear (including those that dropped out)."""
        return self._count

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bodied.clear()
            self.body_bytes = 0
            self._count = 0
