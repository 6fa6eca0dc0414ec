"""What the session store tells other parts after a change (the channels append a close
record when a session closes, the agent answers a session's first message)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .model import Session

Listener = Callable[[str, Session], None]
"""Called with the environment id and the session, after the store's lock is released."""


@dataclass(slots=True)
class SessionEvents:
    """Who wants to know when a session is created (not a cached create, not a session
    restored from a file) or newly closed."""

    created: list[Listener] = field(default_factory=list)
    closed: list[Listener] = field(default_factory=list)

    @staticmethod
    def tell(listeners: list[Listener], env_id: str, session: Session) -> None:
        for listener in listeners:
            listener(env_id, session)
