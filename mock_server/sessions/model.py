"""A stored session and its wire form.

The wire form follows the real API: keys in a fixed order, ISO 8601 dates with
milliseconds and ``Z``, no stored status (it is derived from ``closedAt`` and
``expiresAt`` at read time).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from ..core.ids import SESSION_PREFIX
from ..core.times import iso_ms, iso_or_none

JsonObject = dict[str, Any]


class SessionStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    CLOSED = "CLOSED"
    EXPIRED = "EXPIRED"


@dataclass(slots=True, eq=False)
class Session:
    """One session row. Times are epoch milliseconds."""

    internal_id: str
    external_id: str | None
    type: str
    task_identifier: str
    trigger_config: JsonObject
    current_run_id: str | None
    tags: list[str]
    metadata: JsonObject | None
    expires_at: int | None
    created_at: int
    updated_at: int
    closed_at: int | None = None
    closed_reason: str | None = None
    run_ended_at: int | None = None
    """When the current run died (the control plane ends it); the next cached create or
    append starts a new one. Not on the wire."""

    @property
    def friendly_id(self) -> str:
        return SESSION_PREFIX + self.internal_id

    @property
    def addressing_key(self) -> str:
        """What the session's channels and its token scopes are keyed by: its externalId,
        else its id."""
        return self.external_id if self.external_id is not None else self.friendly_id

    @property
    def scope_keys(self) -> tuple[str, ...]:
        """The ids a public-token scope may name this session by."""
        if self.external_id is None:
            return (self.friendly_id,)
        return (self.friendly_id, self.external_id)

    def is_expired(self, now_ms: int) -> bool:
        """Past its ``expiresAt`` (whether or not it was closed first)."""
        return self.expires_at is not None and self.expires_at < now_ms

    def status(self, now_ms: int) -> SessionStatus:
        if self.closed_at is not None:
            return SessionStatus.CLOSED
        if self.is_expired(now_ms):
            return SessionStatus.EXPIRED
        return SessionStatus.ACTIVE

    def to_wire(self, *, with_trigger_config: bool = True) -> JsonObject:
        row: JsonObject = {
            "id": self.friendly_id,
            "externalId": self.external_id,
            "type": self.type,
            "taskIdentifier": self.task_identifier,
        }
        if with_trigger_config:
            row["triggerConfig"] = self.trigger_config
        row["currentRunId"] = self.current_run_id
        row["tags"] = self.tags
        row["metadata"] = self.metadata
        row["closedAt"] = iso_or_none(self.closed_at)
        row["closedReason"] = self.closed_reason
        row["expiresAt"] = iso_or_none(self.expires_at)
        row["createdAt"] = iso_ms(self.created_at)
        row["updatedAt"] = iso_ms(self.updated_at)
        return row
