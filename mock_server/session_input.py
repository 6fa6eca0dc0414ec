"""What a create or an update asks for, checked and cleaned the way the server does
before any rule of the store applies (trimming ``externalId``, refusing ``session_…``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from .errors import Issue, ValidationFailed
from .ids import SESSION_PREFIX
from .models import JsonObject

# What JavaScript's String.prototype.trim removes (the server trims externalIds with it).
_JS_WHITESPACE: Final = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_RESERVED_MESSAGE: Final = (
    "externalId cannot start with 'session_' (reserved prefix for internal friendlyIds)"
)
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


@dataclass(frozen=True, slots=True)
class SessionChanges:
    """An update: a field left at :data:`UNSET` is not changed."""

    tags: list[str] = UNSET
    metadata: JsonObject | None = UNSET
    external_id: str | None = UNSET

    def __post_init__(self) -> None:
        if isinstance(self.external_id, str):
            object.__setattr__(self, "external_id", clean_external_id(self.external_id))

    @property
    def is_empty(self) -> bool:
        return self.tags is UNSET and self.metadata is UNSET and self.external_id is UNSET
