"""A session row from the wire as a seed file's session entry: the create body that makes
it again, its ``id`` and ``currentRunId``, ``close`` if it was closed, and its records."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from ..core.ids import SESSION_PREFIX, is_cuid
from ..core.times import parse_iso_ms

_RUN_ID: Final = re.compile(r"^run_[A-Za-z0-9]{1,64}$")
_EMPTY_TRIGGER_CONFIG: Final[dict[str, Any]] = {"basePayload": {}}


def session_entry(
    row: dict[str, Any],
    channels: dict[str, list[Any]],
    now_ms: int,
    note: Callable[[str], None],
) -> dict[str, Any]:
    """The seed entry for ``row``. What a seed cannot hold is left out and ``note``\\ d: an
    ``expiresAt`` already past at ``now_ms`` (a seed creates sessions, and an expired one
    cannot be created), ids of another shape than the fake's."""
    session_id = str(row["id"])
    entry: dict[str, Any] = {"type": row["type"]}
    if is_cuid(session_id.removeprefix(SESSION_PREFIX)):
        entry["id"] = session_id
    else:
        note(f"{session_id}: not a cuid id, so the seed gives it a new one")
    if row.get("externalId") is not None:
        entry["externalId"] = row["externalId"]
    entry["taskIdentifier"] = row["taskIdentifier"]
    config = row.get("triggerConfig")
    if not isinstance(config, dict):
        note(f"{session_id}: its triggerConfig was never seen; seeded with an empty basePayload")
        config = _EMPTY_TRIGGER_CONFIG
    entry["triggerConfig"] = config
    run_id = row.get("currentRunId")
    if isinstance(run_id, str) and _RUN_ID.match(run_id):
        entry["currentRunId"] = run_id
    if row.get("tags"):
        entry["tags"] = list(row["tags"])
    if isinstance(row.get("metadata"), dict):
        entry["metadata"] = row["metadata"]
    expires = row.get("expiresAt")
    if isinstance(expires, str):
        try:
            future = parse_iso_ms(expires) > now_ms
        except ValueError:
            future = False
        if future:
            entry["expiresAt"] = expires
        else:
            note(f"{session_id}: expired at {expires}; seeded without expiresAt")
    if row.get("closedAt") is not None:
        reason = row.get("closedReason")
        entry["close"] = {} if reason is None else {"reason": reason}
    if channels:
        entry["channels"] = channels
    return entry
