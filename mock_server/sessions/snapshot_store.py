"""The chat snapshots' side of :class:`~.store.SessionStore`: one snapshot per session,
kept with its session, and the bound on what they keep together."""

from __future__ import annotations

import threading

from ..core.limits import LIMIT_HEADER, BoundCounts, Limits
from .environment import EnvironmentState
from .model import Session
from .snapshots import ObjectRefused, Snapshot


class SnapshotStore:
    """Mixed into :class:`~.store.SessionStore`, whose lock and environments it uses."""

    limits: Limits
    bounds: BoundCounts
    changes: int
    snapshot_bytes: int
    _lock: threading.RLock

    def _seen(self, env_id: str) -> EnvironmentState:
        raise NotImplementedError

    def _env(self, env_id: str) -> EnvironmentState:
        raise NotImplementedError

    def put_snapshot(
        self, env_id: str, ref: str, snapshot: Snapshot, *, capped: bool = True
    ) -> Session:
        """Keep ``snapshot`` as the session's (the last one stored wins). One that would
        take all snapshots past ``max_snapshot_bytes`` is refused unless not ``capped`` (a
        state file's)."""
        with self._lock:
            session = self._seen(env_id).find(ref)
            kept = self._env(env_id).snapshots
            before = kept.get(session.internal_id)
            after = self.snapshot_bytes + len(snapshot.body) - (before.size if before else 0)
            if (
                capped
                and after > self.limits.max_snapshot_bytes
                and (before is None or len(snapshot.body) > before.size)
            ):
                self.bounds.refused_snapshots += 1
                raise ObjectRefused(
                    507,
                    "InsufficientStorage",
                    f"trigger-mock keeps at most {self.limits.max_snapshot_bytes} bytes of "
                    "chat snapshots (--max-snapshot-bytes): reset it or raise the limit",
                    {LIMIT_HEADER: "snapshots"},
                )
            kept[session.internal_id] = snapshot
            self.snapshot_bytes = after
            self.changes += 1
            return session

    def snapshot_of(self, env_id: str, ref: str) -> Snapshot | None:
        """The session's snapshot; ``None`` if none was stored (or no such session)."""
        with self._lock:
            env = self._seen(env_id)
            session = env.lookup(ref)
            return None if session is None else env.snapshots.get(session.internal_id)

    def snapshots(self, env_id: str) -> dict[str, Snapshot]:
        """An environment's snapshots, by the session's internal id."""
        with self._lock:
            return dict(self._seen(env_id).snapshots)
