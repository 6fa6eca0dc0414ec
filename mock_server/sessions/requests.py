"""What a create or an update asks for, read from its (already schema-valid) JSON body and
cleaned the way the server cleans it before any rule of the store applies (trimming
``externalId``, refusing ``session_…``, dropping ``null`` trigger options)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from ..core.errors import Issue, ValidationFailed
from ..core.ids import SESSION_PREFIX
from ..core.times import js_date_ms, parse_iso_ms
from .model import JsonObject

# What JavaScript's String.prototype.trim removes (the server trims externalIds with it).
_JS_WHITESPACE: Final = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_RESERVED_MESSAGE: Final = (
    "externalId cannot start with 'session_' (reserved prefix for internal friendlyIds)"
)
_BODY_FIELDS: Final = {"tags": "tags", "metadata": "metadata", "externalId": "external_id"}
UNSET: Final[Any] = object()
"""Marks a field an update leaves alone (``None`` is a value: it clears ``metadata``)."""


def clean_external_id(value: str) -> str:
    """Trim an externalId as the server does and enforce what trimming can break."""
    trimmed = value.strip(_JS_WHITESPACE)
    if not trimmed:
        issue = Issue("too_small", "String must contain at least 1 character(s)", ("externalId",))
        raise ValidationFailed([issue])
    if trimmed.startswith(SESSION_PREFIX):
        raise ValidationFailed([Issue("custom", _RESERVED_MESSAGE, ("externalId",))])
    return trimmed


@dataclass(frozen=True, slots=True)
class NewSession:
    type: str
    task_identifier: str
    trigger_config: JsonObject
    external_id: str | None = None
    tags: list[str] = field(default_factory=list)
    metadata: JsonObject | None = None
    expires_at: int | None = None

    def __post_init__(self) -> None:
        if self.external_id is not None:
            object.__setattr__(self, "external_id", clean_external_id(self.external_id))

    @classmethod
    def from_body(cls, body: JsonObject, *, js_dates: bool = False) -> NewSession:
        """A create request from its body (a create body checked against the spec).
        ``js_dates``: ``expiresAt`` is any value JavaScript's ``Date`` reads, as deployed."""
        expires_at: int | None = None
        if js_dates and "expiresAt" in body:
            expires_at = js_date_ms(body["expiresAt"])
            if expires_at is None:
                raise ValidationFailed([Issue("invalid_date", "Invalid date", ("expiresAt",))])
        elif body.get("expiresAt") is not None:
            expires_at = parse_iso_ms(body["expiresAt"])
        return cls(
            type=body["type"],
            task_identifier=body["taskIdentifier"],
            trigger_config={k: v for k, v in body["triggerConfig"].items() if v is not None},
            external_id=body.get("externalId"),
            tags=list(body.get("tags", ())),
            metadata=body.get("metadata"),
            expires_at=expires_at,
        )


@dataclass(frozen=True, slots=True)
class SessionChanges:
    """An update: a field left at :data:`UNSET` is not changed."""

    tags: list[str] = UNSET
    metadata: JsonObject | None = UNSET
    external_id: str | None = UNSET

    def __post_init__(self) -> None:
        if isinstance(self.external_id, str):
            object.__setattr__(self, "external_id", clean_external_id(self.external_id))

    @classmethod
    def from_body(cls, body: JsonObject) -> SessionChanges:
        """An update from its body: the fields it names, and only those."""
        return cls(**{attr: body[key] for key, attr in _BODY_FIELDS.items() if key in body})

    @property
    def is_empty(self) -> bool:
        return self.tags is UNSET and self.metadata is UNSET and self.external_id is UNSET
