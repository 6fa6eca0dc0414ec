"""A stored session and its wire form.

The wire form follows the real API: keys in a fixed order, ISO 8601 dates with
milliseconds and ``Z``, no stored status (it is derived from ``closedAt`` and
``expiresAt`` at read time).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any, ClassVar, Final

from ..core.ids import SESSION_PREFIX
from ..core.jsoncodec import stored_json, stored_value
from ..core.times import iso_ms, iso_or_none

JsonObject = dict[str, Any]


class SessionStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    CLOSED = "CLOSED"
    EXPIRED = "EXPIRED"


_FIELDS: Final = (
    "internal_id",
    "external_id",
    "type",
    "task_identifier",
    "trigger_config",
    "current_run_id",
    "tags",
    "metadata",
    "expires_at",
    "created_at",
    "updated_at",
    "closed_at",
    "closed_reason",
    "run_ended_at",
)


class Session:
    """One session row. Times are epoch milliseconds.

    Kept small and cheap for the garbage collector, since a store holds many: ``tags`` is
    a tuple, ``triggerConfig`` and ``metadata`` are kept as their JSON text (read back as
    fresh values, so changing what a read returned changes nothing stored), and the row is
    the only object per session the collector has to walk."""

    FIELDS: ClassVar[tuple[str, ...]] = _FIELDS
    """Every field, as a state file names them."""
    REQUIRED: ClassVar[frozenset[str]] = frozenset(_FIELDS[:11])
    """The fields without a default (a state file must hold them)."""

    __slots__ = (
        "_metadata",
        "_trigger_config",
        "closed_at",
        "closed_reason",
        "created_at",
        "current_run_id",
        "expires_at",
        "external_id",
        "internal_id",
        "run_ended_at",
        "tags",
        "task_identifier",
        "type",
        "updated_at",
    )

    def __init__(
        self,
        internal_id: str,
        external_id: str | None,
        type: str,
        task_identifier: str,
        trigger_config: JsonObject,
        current_run_id: str | None,
        tags: Iterable[str],
        metadata: JsonObject | None,
        expires_at: int | None,
        created_at: int,
        updated_at: int,
        closed_at: int | None = None,
        closed_reason: str | None = None,
        run_ended_at: int | None = None,
    ) -> None:
        self.internal_id = internal_id
        self.external_id = external_id
        self.type = type
        self.task_identifier = task_identifier
        self._trigger_config = stored_json(trigger_config)
        self.current_run_id = current_run_id
        self.tags: tuple[str, ...] = tuple(tags)
        self._metadata = None if metadata is None else stored_json(metadata)
        self.expires_at = expires_at
        self.created_at = created_at
        self.updated_at = updated_at
        self.closed_at = closed_at
        self.closed_reason = closed_reason
        self.run_ended_at = run_ended_at
        """When the current run died (the control plane ends it); the next cached create
        or append starts a new one. Not on the wire."""

    def __repr__(self) -> str:
        return f"Session({self.friendly_id}, externalId={self.external_id!r})"

    @property
    def trigger_config(self) -> JsonObject:
        value: JsonObject = stored_value(self._trigger_config)
        return value

    @trigger_config.setter
    def trigger_config(self, value: JsonObject) -> None:
        self._trigger_config = stored_json(value)

    @property
    def metadata(self) -> JsonObject | None:
        return None if self._metadata is None else stored_value(self._metadata)

    @metadata.setter
    def metadata(self, value: JsonObject | None) -> None:
        self._metadata = None if value is None else stored_json(value)

    def fields(self) -> dict[str, Any]:
        """Every field by name (:attr:`FIELDS`), as ``Session(**fields)`` takes them."""
        return {name: getattr(self, name) for name in _FIELDS}

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
        """The row as the API shows it, for :func:`~mock_server.core.jsoncodec.dump_json`
        (``triggerConfig`` and ``metadata`` are their JSON text, as bytes)."""
        row: JsonObject = {
            "id": self.friendly_id,
            "externalId": self.external_id,
            "type": self.type,
            "taskIdentifier": self.task_identifier,
        }
        if with_trigger_config:
            row["triggerConfig"] = self._trigger_config  # JSON text: dump_json embeds it
        row["currentRunId"] = self.current_run_id
        row["tags"] = self.tags
        row["metadata"] = self._metadata
        row["closedAt"] = iso_or_none(self.closed_at)
        row["closedReason"] = self.closed_reason
        row["expiresAt"] = iso_or_none(self.expires_at)
        row["createdAt"] = iso_ms(self.created_at)
        row["updatedAt"] = iso_ms(self.updated_at)
        return row
