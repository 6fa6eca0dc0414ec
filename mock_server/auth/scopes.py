"""Public-token scopes: ``action:type[:id]`` and what they grant.

* bare ``admin`` grants everything;
* the action must equal the one asked for, or be ``*`` (``write`` never implies ``admin``
  or ``read``);
* type ``all`` stands for every type;
* a scope without an id covers every id of its type (and resources that have no id); with
  an id it covers exactly that id, which may itself contain colons.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Resource:
    type: str
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    action: str
    type: str | None
    id: str | None

    @classmethod
    def parse(cls, text: str) -> Scope:
        parts = text.split(":")
        action = parts[0]
        type_ = parts[1] if len(parts) > 1 else None
        id_ = ":".join(parts[2:]) if len(parts) > 2 else None
        return cls(action, type_, id_)

    def grants(self, action: str, resource: Resource) -> bool:
        if self.type is None:
            return self.action == "admin"
        if self.action not in (action, "*"):
            return False
        if self.type not in ("all", resource.type):
            return False
        return self.id is None or self.id == resource.id

    def covers(self, other: Scope) -> bool:
        """Everything ``other`` grants, this grants too (minting a token from a key)."""
        if self.type is None:
            return self.action == "admin"
        if other.type is None or self.action not in (other.action, "*"):
            return False
        if self.type not in ("all", other.type):
            return False
        return self.id is None or self.id == other.id


class Ability:
    """What a credential may do. ``Ability.everything()`` is a secret key's."""

    def __init__(self, scopes: Iterable[str] | None) -> None:
        self._unlimited = scopes is None
        self._scopes = tuple(Scope.parse(s) for s in scopes or ())

    @classmethod
    def everything(cls) -> Ability:
        return cls(None)

    @property
    def scopes(self) -> tuple[Scope, ...]:
        return self._scopes

    def can(self, action: str, resource: Resource) -> bool:
        return self._unlimited or any(s.grants(action, resource) for s in self._scopes)

    def denied(self, scopes: Iterable[str]) -> list[str]:
        """The ``scopes`` this ability could not hand on to a token (none for a root key)."""
        if self._unlimited:
            return []
        return [
            text
            for text in scopes
            if not any(own.covers(Scope.parse(text)) for own in self._scopes)
        ]

    def can_any(self, action: str, resources: Sequence[Resource]) -> bool:
        return any(self.can(action, r) for r in resources)

    def can_every(
        self, action: str, resources: Sequence[Resource], *, otherwise: Sequence[Resource]
    ) -> bool:
        """Every resource, unless one of ``otherwise`` is granted outright."""
        if self.can_any(action, otherwise):
            return True
        return bool(resources) and all(self.can(action, r) for r in resources)
