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
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Final

from ..auth.environments import Environments
from ..channels.records import Record, StreamKey
from ..channels.streams import ChannelStore
from ..core.errors import ApiError
from ..core.ids import SESSION_PREFIX, IdSource, is_cuid
from ..core.jsoncodec import dump_json
from ..sessions.model import Session
from ..sessions.snapshots import Snapshot
from ..sessions.store import SessionStore

logger = logging.getLogger("trigger_mock")

MIN_PAUSE_SECONDS: Final = 0.05

FORMAT: Final = "trigger-mock state"
VERSION: Final = 2
READABLE_VERSIONS: Final = (1, 2)
"""Version 1 stored a record as ``[seq, timestamp, headers, body]``; version 2 as S2's
record object (``seq_num``, ``timestamp``, ``headers``, ``body``)."""


class StateFileError(ValueError):
    """A state file that cannot be loaded."""


Chunks = list[bytes]


def snapshot(store: SessionStore, channels: ChannelStore, environments: Environments) -> Chunks:
    """The whole state as the file holds it, in pieces to write one after the other.
    Sessions go through the JSON codec; each channel record goes in as the JSON the store
    already keeps for it (S2's record shape), uncopied: the file costs what the records
    cost in memory (:mod:`mock_server.channels.budget`), and saving needs no second copy
    of them nor ever decodes a body."""
    envs: dict[str, list[tuple[str, Chunks]]] = {}
    for env_id, sessions in store.snapshot().items():
        kept = store.snapshots(env_id)
        envs[env_id] = [
            ("sessions", [dump_json([_session_entry(s) for s in sessions])]),
            ("retiredRuns", [dump_json(store.retired_runs(env_id))]),
            ("snapshots", [dump_json([_snapshot_entry(i, k) for i, k in kept.items()])]),
        ]
    for env_id in channels.environment_ids():
        streams: Chunks = [b"["]
        for n, (key, channel) in enumerate(channels.streams(env_id).items()):
            # The tail: the numbering outlives aged-out (and budget-dropped) records.
            head = {"key": key.key, "io": key.io, "channel": key.channel, "tail": channel.tail}
            streams.append((b"," if n else b"") + dump_json(head)[:-1] + b',"records":[')
            for m, record in enumerate(channel.records):
                streams.extend((b",", record.wire) if m else (record.wire,))
            streams.append(b"]}")
        streams.append(b"]")
        envs.setdefault(env_id, []).append(("streams", streams))
    keys = [env.secret_key for env in environments.known()]
    return _object(
        [
            ("format", [dump_json(FORMAT)]),
            ("version", [dump_json(VERSION)]),
            ("secretKeys", [dump_json(keys)]),
            ("environments", _object([(env_id, _object(parts)) for env_id, parts in envs.items()])),
        ]
    )


def _session_entry(session: Session) -> dict[str, Any]:
    return session.fields()


def _snapshot_entry(internal_id: str, kept: Snapshot) -> dict[str, Any]:
    return {
        "session": internal_id,
        "contentType": kept.content_type,
        "storedAt": kept.stored_at,
        "body": base64.b64encode(kept.body).decode("ascii"),
    }


def _object(members: list[tuple[str, Chunks]]) -> Chunks:
    """A JSON object from its members' names and already encoded values."""
    pieces = [b"{"]
    for n, (name, value) in enumerate(members):
        pieces.append((b"," if n else b"") + dump_json(name) + b":")
        pieces.extend(value)
    pieces.append(b"}")
    return pieces


def write_atomically(path: Path, data: bytes | Chunks) -> None:
    directory = path.parent
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(handle, "wb", buffering=1 << 20) as out:
            out.writelines([data] if isinstance(data, bytes) else data)
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
    write_atomically(path, snapshot(store, channels, environments))


def _session(raw: Any, where: str) -> Session:
    # Fields added since version 1 have defaults, so older files lack them.
    if not isinstance(raw, dict) or not Session.REQUIRED <= set(raw) <= set(Session.FIELDS):
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
    if state.get("version") not in READABLE_VERSIONS:
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
            environments.accept(key, made_by_use=True)
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
                store.put_snapshot(env_id, SESSION_PREFIX + kept["session"], snapshot, capped=False)
            for stream in env.get("streams", []):
                key = StreamKey(stream["key"], stream["io"], stream["channel"])
                records = [_record(raw) for raw in stream["records"]]
                channels.restore(env_id, key, records, stream.get("tail", 0))
        channels.restored()
    except (KeyError, TypeError, ValueError, AttributeError, ApiError) as exc:
        raise StateFileError(f"the state does not hold together: {exc!r}") from exc
    if newest:
        ids.resume_after(newest)
    return count


def _record(raw: Any) -> Record:
    if isinstance(raw, dict):  # version 2
        seq, at, headers, body = raw["seq_num"], raw["timestamp"], raw["headers"], raw["body"]
    else:
        seq, at, headers, body = raw
    if not all(isinstance(v, int) for v in (seq, at)) or not isinstance(body, str):
        raise ValueError(f"not a record: {raw!r:.200}")
    return Record.make(seq, at, tuple((str(h[0]), str(h[1])) for h in headers), body)


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

    async def save_changed(self) -> bool:
        """:meth:`save_if_changed` with the file written (and fsynced) in a worker thread:
        the state is taken on the event loop, so it is consistent, and the disk's time is
        not the server's."""
        version = self._version()
        if version == self._saved:
            return False
        data = snapshot(*self._parts)
        await asyncio.to_thread(write_atomically, self.path, data)
        self._saved = version
        return True

    async def run(self, stopping: asyncio.Event) -> None:
        """Save after changes until ``stopping``, then once more. A save the system
        refuses (no file descriptor left, a full disk) is logged and tried again at the next
        round; the file on disk stays the last one written whole.

        Rounds start ``interval`` apart, the time a save takes included (a pause of at least
        a twentieth of a second between them), so a write is on disk at most about
        ``interval`` plus one save after it was acknowledged."""
        failing = False
        took = 0.0
        while True:
            stopped = stopping.is_set()
            if not stopped:
                with contextlib.suppress(TimeoutError):
                    pause = max(MIN_PAUSE_SECONDS, self.interval - took)
                    await asyncio.wait_for(stopping.wait(), pause)
            started = time.monotonic()
            try:
                await self.save_changed()
            except OSError as exc:
                if not failing:
                    logger.error(
                        "cannot write the state file %s: %s (trying again)", self.path, exc
                    )
                failing = True
            else:
                if failing:
                    logger.warning("the state file %s is written again", self.path)
                failing = False
            took = time.monotonic() - started
            if stopped:
                return
