"""What the store's writes answer: the session, and what the call did to it."""

from __future__ import annotations

from dataclasses import dataclass

from .model import Session


@dataclass(frozen=True, slots=True)
class Created:
    session: Session
    is_cached: bool


@dataclass(frozen=True, slots=True)
class Closed:
    session: Session
    newly: bool


@dataclass(frozen=True, slots=True)
class RunSwap:
    session: Session
    swapped: bool
