"""Every session and every Sessions rule, with no HTTP in sight.

One :class:`SessionStore` holds one :class:`EnvironmentState` per environment (per
secret key). Methods take plain values, apply the API's rules, and raise the errors of
:mod:`mock_server.sessions.errors`. A lock makes each call atomic, so concurrent creates
of one ``externalId`` yield one session and concurrent closes one ``closedAt``.

What other parts must do when a session starts or closes (the channels append a close
record, the agent answers a first message) they register in :attr:`SessionStore.events`;
the store tells them after the change, so no caller has to remember to.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Final

from ..core.clock import Clock
from ..core.ids import SESSION_PREFIX, IdSource, is_cuid
from ..core.limits import BoundCounts, Limits
from .browse import Browsed, BrowseQuery, browse
from .environment import EnvironmentState
from .errors import (
    CallingRunNotFound,
    EndAndContinueRefused,
    ExternalIdImmutable,
    SessionClosed,
    SessionExpired,
    SessionLimitReached,
)
from .events import SessionEvents
from .listing import ListQuery, Page, paginate
from .model import Session
from .outcomes import Closed, Created, RunSwap
from .requests import UNSET, NewSession, SessionChanges
from .snapshot_store import SnapshotStore

MAX_SHARED_STRINGS: Final = 10_000


class SessionStore(SnapshotStore):
    def __init__(
        self,
        clock: Clock,
        ids: IdSource,
        *,
        refresh_trigger_config_on_cached_create: bool = False,
        deployed_edge_cursors: bool = False,
        limits: Limits | None = None,
        bounds: BoundCounts | None = None,
    ) -> None:
        self.clock = clock
        self.limits = limits or Limits()
        """Read for ``max_sessions`` at each create."""
        self.bounds = bounds or BoundCounts()
        self._total = 0
        self.snapshot_bytes = 0
        """The bodies of every chat snapshot kept (``max_snapshot_bytes`` bounds it)."""
        self.ids = ids
        self._refresh_cached = refresh_trigger_config_on_cached_create
        self._deployed_edges = deployed_edge_cursors
        self._lock = threading.RLock()
        self._environments: dict[str, EnvironmentState] = {}
        self._strings: dict[str, str] = {}
        self.changes = 0
        """Counts writes, so a saver can tell whether anything changed."""
        self.events = SessionEvents()

    def _env(self, env_id: str) -> EnvironmentState:
        """The environment's state, created on its first write."""
        state = self._environments.get(env_id)
        if state is None:
            state = self._environments[env_id] = EnvironmentState()
        return state

    def _seen(self, env_id: str) -> EnvironmentState:
        """The environment's state for a read: an empty one if it never wrote."""
        return self._environments.get(env_id) or EnvironmentState()

    def _shared(self, text: str) -> str:
        """One copy of each repeated string (types, tasks, tags) across sessions, for the
        first :data:`MAX_SHARED_STRINGS` different ones (strings are never let go of before
        a full reset, so new ones past that are kept as they come)."""
        if len(self._strings) >= MAX_SHARED_STRINGS:
            return self._strings.get(text, text)
        return self._strings.setdefault(text, text)

    # --- operations ---------------------------------------------------------------------

    def create(
        self,
        env_id: str,
        new: NewSession,
        *,
        announce: bool = True,
        session_id: str | None = None,
        run_id: str | None = None,
        capped: bool = True,
    ) -> Created:
        """Create, or return the open session with the same externalId. ``announce``
        ``False`` keeps a new session from the ``created`` listeners (a seed file's).
        ``session_id`` and ``run_id`` give a new session those ids instead of fresh ones (a
        seed file keeping a recording's ids); a ``session_id`` the environment already
        holds is a ``ValueError``. A new session beyond ``max_sessions`` is refused unless
        not ``capped`` (a seed file's)."""
        external_id = new.external_id
        with self._lock:
            env = self._env(env_id)
            now = self.clock.now_ms()
            existing = None if external_id is None else env.by_external.get(external_id)
            if existing is not None:
                self._refuse_reuse(existing, now)
                if self._refresh_cached:
                    existing.trigger_config = new.trigger_config
                    existing.updated_at = now
                    self.changes += 1
                self._revive(env, existing, now)
                return Created(existing, is_cached=True)
            if new.expires_at is not None and new.expires_at < now:
                raise SessionExpired()
            if capped and self._total >= self.limits.max_sessions:
                self.bounds.refused_sessions += 1
                raise SessionLimitReached(self.limits.max_sessions)
            session = Session(
                internal_id=self._new_id(env, session_id),
                external_id=external_id,
                type=self._shared(new.type),
                task_identifier=self._shared(new.task_identifier),
                trigger_config=new.trigger_config,
                current_run_id=run_id or self.ids.run_id(),
                tags=tuple(self._shared(t) for t in new.tags),
                metadata=new.metadata,
                expires_at=new.expires_at,
                created_at=now,
                updated_at=now,
            )
            env.add(session)
            self._total += 1
            self.changes += 1
        if announce:
            self.events.tell(self.events.created, env_id, session)
        return Created(session, is_cached=False)

    def _new_id(self, env: EnvironmentState, session_id: str | None) -> str:
        if session_id is None:
            return self.ids.cuid()
        internal = session_id.removeprefix(SESSION_PREFIX)
        if not is_cuid(internal) or internal in env.sessions:
            raise ValueError(f"{session_id}: not a session id, or one already taken")
        self.ids.resume_after(internal)  # ids minted later still sort after it
        return internal

    @staticmethod
    def _refuse_reuse(existing: Session, now: int) -> None:
        if existing.closed_at is not None:
            raise SessionClosed()
        if existing.is_expired(now):
            raise SessionExpired()

    def get(self, env_id: str, ref: str) -> Session:
        with self._lock:
            return self._seen(env_id).find(ref, on_read=True)

    def update(self, env_id: str, ref: str, changes: SessionChanges) -> Session:
        wanted_external = changes.external_id
        with self._lock:
            env = self._seen(env_id)
            session = env.find(ref)
            if wanted_external is not UNSET and wanted_external != session.external_id:
                raise ExternalIdImmutable()
            if changes.is_empty:
                return session
            if changes.tags is not UNSET:
                tags = tuple(self._shared(t) for t in changes.tags)
                env.index.retag(session.internal_id, session.tags, tags)
                session.tags = tags
            if changes.metadata is not UNSET:
                session.metadata = changes.metadata
            session.updated_at = self.clock.now_ms()
            self.changes += 1
            return session

    def close(self, env_id: str, ref: str, reason: str | None) -> Closed:
        with self._lock:
            env = self._seen(env_id)
            session = env.find(ref)
            if session.closed_at is not None:
                return Closed(session, newly=False)
            now = self.clock.now_ms()
            session.closed_at = now
            session.closed_reason = reason
            session.updated_at = now
            env.index.closed.add(session.internal_id)
            self.changes += 1
        self.events.tell(self.events.closed, env_id, session)
        return Closed(session, newly=True)

    def lookup(self, env_id: str, ref: str) -> Session | None:
        """The session ``ref`` names, or ``None`` (channel routes work without one)."""
        with self._lock:
            return self._seen(env_id).lookup(ref)

    def knows_run(self, env_id: str, run_id: str) -> bool:
        """Whether ``run_id`` is a session's current run in the environment, or was one."""
        with self._lock:
            return self._seen(env_id).knows_run(run_id)

    def swap_run(self, env_id: str, ref: str, calling_run_id: str) -> RunSwap:
        """end-and-continue: if ``calling_run_id`` is the session's current run, start a
        new run and make it current; otherwise leave the session alone."""
        with self._lock:
            env = self._seen(env_id)
            session = env.find(ref)
            now = self.clock.now_ms()
            if session.closed_at is not None:
                raise EndAndContinueRefused("Cannot end-and-continue a closed session")
            if session.is_expired(now):
                raise EndAndContinueRefused("Cannot end-and-continue an expired session")
            if session.current_run_id != calling_run_id and not env.knows_run(calling_run_id):
                raise CallingRunNotFound()
            if session.current_run_id != calling_run_id:
                return RunSwap(session, swapped=False)
            env.start_run(session, self.ids.run_id(), now)
            self.changes += 1
            return RunSwap(session, swapped=True)

    def end_run(self, env_id: str, ref: str) -> Session:
        """The session's current run dies (crashed, cancelled, timed out): the row keeps
        its id until a cached create or an append starts the next one."""
        with self._lock:
            session = self._seen(env_id).find(ref)
            if session.run_ended_at is None:
                session.run_ended_at = self.clock.now_ms()
                self.changes += 1
            return session

    def ensure_run(self, env_id: str, session: Session) -> bool:
        """What the server does before an append: a session whose run died gets a new
        one. True if a run was started."""
        with self._lock:
            return self._revive(self._env(env_id), session, self.clock.now_ms())

    def _revive(self, env: EnvironmentState, session: Session, now: int) -> bool:
        if session.run_ended_at is None:
            return False
        env.start_run(session, self.ids.run_id(), now)
        self.changes += 1
        return True

    def page(self, env_id: str, query: ListQuery) -> Page:
        with self._lock:
            env = self._seen(env_id)
            return paginate(
                env.index,
                env.sessions,
                env.by_external,
                query,
                now_ms=self.clock.now_ms(),
                deployed_edges=self._deployed_edges,
            )

    # --- control plane ------------------------------------------------------------------

    def adopt(self, env_id: str, session: Session) -> None:
        """Put a stored session back (a state file), indexes and all: no events, since
        nothing happened to it."""
        with self._lock:
            self._env(env_id).add(session)
            self._total += 1
            self.changes += 1

    def adopt_runs(self, env_id: str, retired_runs: Iterable[str]) -> None:
        """Runs end-and-continue swapped out, restored with their sessions."""
        with self._lock:
            self._env(env_id).retired_runs.update(retired_runs)

    def retired_runs(self, env_id: str) -> list[str]:
        with self._lock:
            return sorted(self._seen(env_id).retired_runs)

    def reset(self, env_id: str | None = None) -> int:
        """Forget every session (and restart ids), or one environment's sessions.
        Returns how many sessions were dropped."""
        with self._lock:
            self.changes += 1
            if env_id is not None:
                dropped = self._environments.pop(env_id, None)
                if dropped is None:
                    return 0
                self._total -= len(dropped.sessions)
                self.snapshot_bytes -= sum(kept.size for kept in dropped.snapshots.values())
                return len(dropped.sessions)
            count, self._total, self.snapshot_bytes = self._total, 0, 0
            self._environments = {}
            self._strings = {}
            self.ids.reset()
            return count

    def count(self, env_id: str | None = None) -> int:
        with self._lock:
            if env_id is not None:
                return len(self._seen(env_id).sessions)
            return self._total

    def environment_ids(self) -> list[str]:
        """Environments that have stored sessions since the last reset."""
        with self._lock:
            return list(self._environments)

    def _chosen(self, env_id: str | None) -> dict[str, EnvironmentState]:
        chosen = self._environments
        return chosen if env_id is None else {env_id: chosen[env_id]} if env_id in chosen else {}

    def snapshot(self, env_id: str | None = None) -> dict[str, list[Session]]:
        """Sessions per environment, oldest first."""
        with self._lock:
            return {
                eid: sorted(state.sessions.values(), key=lambda s: s.internal_id)
                for eid, state in self._chosen(env_id).items()
            }

    def browse(self, env_id: str | None, query: BrowseQuery) -> dict[str, Browsed]:
        """Per environment (every one, or ``env_id``'s), the page ``query`` asks for."""
        with self._lock:
            now = self.clock.now_ms()
            return {eid: browse(env, query, now) for eid, env in self._chosen(env_id).items()}
