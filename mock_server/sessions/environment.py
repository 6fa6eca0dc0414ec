"""One environment's sessions: by id, by externalId, and in the listing indexes."""

from __future__ import annotations

from ..core.ids import SESSION_PREFIX
from .errors import SessionNotFound
from .listing import SessionIndex
from .model import Session


class EnvironmentState:
    """One environment's sessions and indexes."""

    __slots__ = ("by_external", "index", "retired_runs", "sessions")

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.by_external: dict[str, Session] = {}
        self.index = SessionIndex()
        self.retired_runs: set[str] = set()

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
