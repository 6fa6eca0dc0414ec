"""The API port's connection bounds, as one server enforces them: how many connections it
holds at once, how long a connection may take over a request's header, how long an idle
one is kept. :class:`ConnectionGuard` decides, counts in the shared
:class:`~mock_server.core.limits.BoundCounts` and logs; the HTTP/1.1 protocol
(:mod:`mock_server.server.protocol`) asks it at each turn of a connection.

Also here: making room for the connections in the process's open-file limit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final

from ..core.limits import BoundCounts, Limits, OncePerSecond

logger = logging.getLogger("trigger_mock")

MAX_HEADER_BYTES: Final = 32 * 1024
"""A request's target and headers together (uvicorn sets no bound: one request with 30 MiB
of headers took a served fake 725 MiB, its journal keeping them)."""
MAX_HEADERS: Final = 100
"""Header lines in one request."""

FILE_MARGIN: Final = 256
"""Open files the process needs besides the API port's connections (the S2 port's
connections, listening sockets, the state file, the log)."""


class ConnectionGuard:
    """One server's side of the connection bounds.

    Each bound is read from the shared :class:`Limits` when it is applied, so a change made
    through the control plane holds from the next connection or the next wait. Each kind
    of event is logged at most once a second, with how many were held back since.
    """

    def __init__(
        self,
        limits: Limits,
        bounds: BoundCounts,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self.bounds = bounds
        self._clock = clock
        self._refusals = OncePerSecond()
        self._header_timeouts = OncePerSecond()
        self._idle_closes = OncePerSecond()
        self._oversized = OncePerSecond()

    @property
    def header_timeout(self) -> float:
        return self.limits.header_timeout

    @property
    def keep_alive_timeout(self) -> float:
        return self.limits.keep_alive_timeout

    def admit(self) -> bool:
        """Whether a connection that just opened may stay: it is counted open if so, and
        counted refused (the caller then closes it) if the cap is reached."""
        cap = self.limits.max_connections
        if self.bounds.open_connections >= cap:
            self.bounds.refused_connections += 1
            self._log(
                self._refusals,
                logging.WARNING,
                f"refused a connection: {cap} are open, the most max_connections allows",
            )
            return False
        self.bounds.open_connections += 1
        return True

    def release(self) -> None:
        """An admitted connection has closed."""
        self.bounds.open_connections = max(0, self.bounds.open_connections - 1)

    def header_timed_out(self) -> None:
        self.bounds.header_timeouts += 1
        self._log(
            self._header_timeouts,
            logging.WARNING,
            "closed a connection that sent no complete request header within "
            f"{self.limits.header_timeout:g} s (header_timeout)",
        )

    def header_too_large(self) -> None:
        self.bounds.oversized_headers += 1
        self._log(
            self._oversized,
            logging.WARNING,
            f"answered 431 to a request whose header passed {MAX_HEADER_BYTES} bytes or "
            f"{MAX_HEADERS} lines",
        )

    def idle_closed(self) -> None:
        self.bounds.idle_closed += 1
        self._log(
            self._idle_closes,
            logging.DEBUG,
            "closed a keep-alive connection idle for "
            f"{self.limits.keep_alive_timeout:g} s (keep_alive_timeout)",
        )

    def _log(self, gate: OncePerSecond, level: int, message: str) -> None:
        if not gate.due(self._clock()):
            return
        held = gate.take_held()
        if held:
            message += f" ({held} more like it since the last such line)"
        logger.log(level, "%s", message)


def raise_open_file_limit(connections: int, margin: int = FILE_MARGIN) -> int | None:
    """Raise the soft limit on open files toward the hard one when it leaves less than
    ``connections`` plus ``margin``; warn when it still does. The soft limit in force
    after, or ``None`` where the platform has no such limit."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    wanted = connections + margin
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return soft
    # All the hard limit allows first; some systems refuse more than a kernel maximum
    # below it, so then only what is wanted.
    targets = [wanted] if hard == resource.RLIM_INFINITY else [hard, min(hard, wanted)]
    for target in targets:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            continue
        break
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY and soft < wanted:
        logger.warning(
            "the process may open only %d files (ulimit -n; hard limit %s), short of the "
            "%d that max_connections %d and the rest need: connections beyond it fail as "
            "they open",
            soft,
            "unlimited" if hard == resource.RLIM_INFINITY else hard,
            wanted,
            connections,
        )
    return soft


class OncePerSecondFilter(logging.Filter):
    """Lets a logger's record with a given message through at most once a second (uvicorn
    logs every request it cannot parse, so a flood of them would flood the log)."""

    def __init__(self, message: str, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.message = message
        self._gate = OncePerSecond()
        self._clock = clock

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage() != self.message:
            return True
        if not self._gate.due(self._clock()):
            return False
        held = self._gate.take_held()
        if held:
            record.msg = f"{self.message} ({held} more like it since the last such line)"
            record.args = ()
        return True
