"""The fake's bounds: how much it keeps and how many it serves at once, and the counts of
what each bound turned away.

:class:`Limits` starts from the settings (``serve`` options, ``TRIGGER_MOCK_*`` variables)
and can be changed while serving (``PATCH /_mock/limits``); a full reset puts the start-up
values back. Every part that enforces a bound reads it here at the moment it decides, so a
change takes effect at the next request, record, reader or connection.
:class:`BoundCounts` holds what the bounds did, for ``/_mock/health``.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Final

LIMIT_HEADER: Final = "x-trigger-mock-limit"
"""On an answer a bound gave (not the API): which bound, e.g. ``sessions``."""
MIB: Final = 1024 * 1024
DEFAULT_MAX_RECORD_BYTES: Final = 256 * MIB
DEFAULT_MAX_SESSIONS: Final = 1_000_000
DEFAULT_MAX_SNAPSHOT_BYTES: Final = 256 * MIB
DEFAULT_MAX_ENVIRONMENTS: Final = 10_000
DEFAULT_MAX_SSE_READERS: Final = 1_000
DEFAULT_MAX_CONNECTIONS: Final = 2_000
DEFAULT_HEADER_TIMEOUT: Final = 10.0
DEFAULT_KEEP_ALIVE_TIMEOUT: Final = 5.0

_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS: Final = {"": 1, "b": 1, "k": 1024, "m": MIB, "g": 1024 * MIB}


def parse_size(text: str) -> int:
    """Bytes from ``268435456``, ``256MiB``, ``256M``, ``64k`` or ``1GiB`` (powers of
    1024); ``ValueError`` otherwise."""
    found = _SIZE.match(text)
    if found is None:
        raise ValueError(f"{text!r} is not a size (bytes, or a number with KiB, MiB or GiB)")
    unit = (found.group(2) or "").lower()[:1]
    return int(found.group(1)) * _UNITS[unit]


@dataclass(slots=True)
class Limits:
    """Every bound, each read where it is enforced."""

    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    """Channel records kept, over all streams, in bytes (see
    :func:`mock_server.channels.budget.charged_bytes`); past it the oldest go."""
    max_sessions: int = DEFAULT_MAX_SESSIONS
    """Stored sessions, over all environments; a create beyond it is refused (``507``)."""
    max_snapshot_bytes: int = DEFAULT_MAX_SNAPSHOT_BYTES
    """Chat snapshots kept, over all sessions, in bytes; an upload beyond it is refused."""
    max_environments: int = DEFAULT_MAX_ENVIRONMENTS
    """Environments made by first use of a new key; a new key beyond it is refused."""
    max_sse_readers: int = DEFAULT_MAX_SSE_READERS
    """Live SSE readers, over all channels; one more is answered ``503``."""
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    """Open client connections on the API port; one more is closed as it opens."""
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    """Seconds a connection has to deliver a request's headers, from its first byte (or
    from the connection opening, or from the previous answer)."""
    keep_alive_timeout: float = DEFAULT_KEEP_ALIVE_TIMEOUT
    """Seconds an idle connection is kept open between requests."""

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """``ValueError`` naming the first bound that is not a positive number."""
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"{item.name}: must be a positive number, not {value!r}")
            if item.type == "int" and not isinstance(value, int):
                raise ValueError(f"{item.name}: must be a whole number, not {value!r}")

    def changed(self, **values: Any) -> Limits:
        """A copy with some bounds changed (checked; unknown names are a ``ValueError``)."""
        known = {item.name for item in fields(self)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown limit(s): {', '.join(unknown)}")
        return replace(self, **values)

    def update(self, other: Limits) -> None:
        """Take every bound of ``other`` (this object is shared; it is never replaced)."""
        for item in fields(self):
            setattr(self, item.name, getattr(other, item.name))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class BoundCounts:
    """What the bounds turned away or let go of since the start (or the last full reset)."""

    refused_sessions: int = 0
    refused_environments: int = 0
    refused_snapshots: int = 0
    refused_readers: int = 0
    refused_connections: int = 0
    header_timeouts: int = 0
    oversized_headers: int = 0
    idle_closed: int = 0
    open_connections: int = 0
    """Not a count of refusals: the connections open now (kept by the server's protocol)."""

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def clear(self) -> None:
        """Zero the counts (a full reset); the open connections stay as they are."""
        for item in fields(self):
            if item.name != "open_connections":
                setattr(self, item.name, 0)


@dataclass(slots=True)
class OncePerSecond:
    """Lets a repeated message through at most once a second, counting the ones held back:
    ``due()`` is true when one may be logged, and ``held`` says how many were not since."""

    interval: float = 1.0
    held: int = 0
    _last: float = field(default=float("-inf"))

    def due(self, now: float | None = None) -> bool:
        moment = time.monotonic() if now is None else now
        if moment - self._last >= self.interval:
            self._last = moment
            return True
        self.held += 1
        return False

    def take_held(self) -> int:
        held, self.held = self.held, 0
        return held
