"""``--state-file``: sessions and channel records that survive a restart.

The whole state is one JSON document, written atomically (a temporary file in the same
directory, flushed and fsynced, then renamed over the old one, then the directory fsynced),
so a crash at any moment leaves either the previous file or the new one, never a torn one.
It is written shortly after changes (at most every ``interval`` seconds) and on shutdown,
and read at start. A file that cannot be read is reported and the server does not start, so
it is never silently dropped or overwritten.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import tempfile
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any, Final

from ..auth.environments import Environments
from ..channels.streams import ChannelStore, Record, StreamKey
from ..core.errors import ApiError
from ..core.ids import SESSION_PREFIX, IdSource, is_cuid
from ..sessions.model import Session
from ..sessions.snapshots import Snapshot
from ..sessions.store import SessionStore

FORMAT: Final = "trigger-mock state"
VERSION: Final = 1
_SESSION_FIELDS: Final = [f.name for f in fields(Session)]
_REQUIRED_FIELDS: Final = {f.name for f in fields(Session) if f.default is MISSING}


class StateFileError(ValueError):
    """A state file that cannot be loaded."""


def snapshot(store: SessionStore, channels: ChannelStore, environments: Environments) -> Any:
    envs: dict[str, Any] = {}
    for env_id, sessions in store.snapshot().items():
        envs.setdefault(env_id, {})["sessions"] = [
            {name: getattr(s, name) for name in _SESSION_FIELDS} for s in sessions
        ]
        envs[env_id]["retiredRuns"] = store.retired_runs(env_id)
        envs[env_id]["snapshots"] = [
            {
                "session": internal_id,
                "contentType": kept.content_type,
                "storedAt": kept.stored_at,
                "body": base64.b64encode(kept.body).decode("ascii"),
            }
            for internal_id, kept in store.snapshots(env_id).items()
        ]
    for env_id in channels.environment_ids():
        envs.setdefault(env_id, {})["streams"] = [
            {
                "key": key.key,
                "io": key.io,
                "channel": key.channel,
                "records": [
                    [r.seq_num, r.timestamp, [list(h) for h in r.headers], r.body]
                    for r in channel.records
                ],
                # Optional (older files lack it): the numbering outlives aged-out records.
                "tail": channel.tail,
            }
            for key, channel in channels.streams(env_id).items()
        ]
    keys = [env.secret_key for env in environments.known()]
    return {"format": FORMAT, "version": VERSION, "secretKeys": keys, "environments": envs}


def write_atomically(path: Path, data: bytes) -> None:
    directory = path.parent
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save(
    path: Path, store: SessionStore, channels: ChannelStore, environments: Environments
) -> None:
    state = snapshot(store, channels, environments)
    write_atomically(path, json.dumps(state, separators=(",", ":")).encode())


def _session(raw: Any, where: str) -> Session:
    # Fields added since version 1 have defaults, so older files lack them.
    if not isinstance(raw, dict) or not _REQUIRED_FIELDS <= set(raw) <= set(_SESSION_FIELDS):
        raise StateFileError(f"{where}: not a stored session")
    session = Session(**raw)
    if not is_cuid(session.internal_id):
        raise StateFileError(f"{where}: bad internal id {session.internal_id!r}")
    return session


def load(path: Path) -> Any:
    """The parsed, checked document; :class:`StateFileError` says what is wrong."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise StateFileError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        state = json.loads(raw)
    except ValueError as exc:
        raise StateFileError(f"{path} is not JSON ({exc}); it may be damaged") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise StateFileError(f"{path} is not a trigger-mock state file")
    if state.get("version") != VERSION:
        raise StateFileError(f"{path} has state format version {state.get('version')!r}")
    return state


def restore(
    state: Any,
    store: SessionStore,
    channels: ChannelStore,
    environments: Environments,
    ids: IdSource,
) -> int:
    """Put a loaded state back into empty stores; returns how many sessions came back."""
    try:
        for key in state["secretKeys"]:
            environments.by_key(key)
        count, newest = 0, ""
        for env_id, env in state["environments"].items():
            for n, raw in enumerate(env.get("sessions", [])):
                session = _session(raw, f"environments.{env_id}.sessions[{n}]")
                store.adopt(env_id, session)
                newest, count = max(newest, session.internal_id), count + 1
            store.adopt_runs(env_id, env.get("retiredRuns", []))
            for kept in env.get("snapshots", []):
                body = base64.b64decode(kept["body"], validate=True)
                snapshot = Snapshot(body, kept["contentType"], kept["storedAt"])
                store.put_snapshot(env_id, SESSION_PREFIX + kept["session"], snapshot)
            for stream in env.get("streams", []):
                key = StreamKey(stream["key"], stream["io"], stream["channel"])
                records = [
                    Record.make(seq, at, tuple((h[0], h[1]) for h in headers), body)
                    for seq, at, headers, body in stream["records"]
                ]
                channels.restore(env_id, key, records, stream.get("tail", 0))
    except (KeyError, TypeError, ValueError, AttributeError, ApiError) as exc:
        raise StateFileError(f"the state does not hold together: {exc!r}") from exc
    if newest:
        ids.resume_after(newest)
    return count


class StateSaver:
    """Writes the state after changes, at most every ``interval`` seconds, and at stop."""

    def __init__(
        self,
        path: Path,
        store: SessionStore,
        channels: ChannelStore,
        environments: Environments,
        *,
        interval: float = 0.5,
    ) -> None:
        self.path = path
        self._parts = (store, channels, environments)
        self.interval = interval
        self._saved = self._version()

    def _version(self) -> tuple[int, int]:
        store, channels, _ = self._parts
        return store.changes, channels.changes

    def save_if_changed(self) -> bool:
        version = self._version()
        if version == self._saved:
            return False
        save(self.path, *self._parts)
        self._saved = version
        return True

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.interval)
            self.save_if_changed()
