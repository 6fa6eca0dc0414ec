"""One environment's sessions: by id, by externalId, and in the listing indexes."""

from __future__ import annotations

from ..core.ids import SESSION_PREFIX
from .errors import SessionNotFound
from .listing import SessionIndex
from .model import Session
from .snapshots import Snapshot


class EnvironmentState:
    """One environment's sessions and indexes."""

    __slots__ = ("by_external", "index", "retired_runs", "sessions", "snapshots")

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.by_external: dict[str, Session] = {}
        self.index = SessionIndex()
        self.retired_runs: set[str] = set()
        self.snapshots: dict[str, Snapshot] = {}
        """Chat snapshots by the session's internal id: they go when the session goes."""

    def add(self, session: Session) -> None:
        """Store a session and index it (a new one, or one restored as it was)."""
        self.sessions[session.internal_id] = session
        if session.external_id is not None:
            self.by_external[session.external_id] = session
        self.index.add(session)
        if session.closed_at is not None:
            self.index.closed.add(session.internal_id)

    def lookup(self, ref: str) -> Session | None:
        if ref.startswith(SESSION_PREFIX):
            return self.sessions.get(ref[len(SESSION_PREFIX) :])
        return self.by_external.get(ref)

    def start_run(self, session: Session, run_id: str, now_ms: int) -> None:
        """``run_id`` serves the session from now on; the run before it stays one of the
        environment's runs (end-and-continue may still name it)."""
        if session.current_run_id is not None:
            self.retired_runs.add(session.current_run_id)
        session.current_run_id = run_id
        session.run_ended_at = None
        session.updated_at = now_ms

    def knows_run(self, run_id: str) -> bool:
        return run_id in self.retired_runs or any(
            s.current_run_id == run_id for s in self.sessions.values()
        )

    def find(self, ref: str, *, on_read: bool = False) -> Session:
        """By ``session_…`` id, or else by externalId; both exact."""
        found = self.lookup(ref)
        if found is None:
            raise SessionNotFound(on_read=on_read)
        return found
