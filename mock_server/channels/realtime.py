"""The rules that tie sessions to their channels.

- A channel route names a session by ``session_…`` id or externalId. Reads, and
  initialize, work without a session row when the key is an externalId (the stream is
  keyed by that value); an unknown ``session_…`` id is a 404. Appends need a row.
- The stream is keyed by the session's canonical key (externalId, else its id), so both
  URL forms of one session meet on one stream.
- Appends are refused on closed (409 ``session_closed``) and expired (400) sessions.
- Closing a session appends a control record to its ``.in`` (newer servers append a close
  record there; its exact form is not public, so the fake uses the SDK's ``session-closed``
  control subtype), so a reader waiting on ``.in`` learns of it. The store tells
  :class:`Realtime` of every close, however it came about.
- An append through the API (not the task's own writes) tells the ``on_part`` listeners,
  with the part as stored, even when its part id was a repeat: that is what completes
  run-side waitpoints (:mod:`mock_server.channels.waitpoints`), as the server drains them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ..core.clock import Clock
from ..core.errors import ApiError
from ..core.ids import SESSION_PREFIX, IdSource
from ..sessions.model import Session
from ..sessions.store import SessionStore
from .errors import AppendToClosedSession, AppendToExpiredSession, InitializeClosedSession
from .records import CONTROL_HEADER, Headers, Record, StreamKey, envelope
from .sanitize import strip_client_webhook_source
from .streams import ChannelStore

IN: Final = "in"
OUT: Final = "out"
SESSION_CLOSED: Final = "session-closed"
SESSION_CLOSED_REASON_HEADER: Final = "session-closed-reason"

PartListener = Callable[[str, StreamKey, str], None]
"""Called with the environment id, the stream and the part's text, after the append."""


def control_headers(subtype: str, extra: Headers = ()) -> Headers:
    return ((CONTROL_HEADER, subtype), *extra)


def names_of(ref: str, session: Session | None) -> tuple[str, ...]:
    """Every key a token's scope may name a channel's session by: as the URL named it, and
    by its id and its externalId."""
    return (ref,) if session is None else tuple(dict.fromkeys((ref, *session.scope_keys)))


@dataclass(frozen=True, slots=True)
class Target:
    """What a channel URL resolves to."""

    session: Session | None
    stream: StreamKey
    keys: tuple[str, ...]
    """Every key a token's scope may name the channel's session by."""


class Realtime:
    def __init__(
        self, sessions: SessionStore, channels: ChannelStore, ids: IdSource, clock: Clock
    ) -> None:
        self.sessions = sessions
        self.channels = channels
        self.ids = ids
        self.clock = clock
        self.on_reset: list[Callable[[str | None], None]] = []
        self.on_part: list[PartListener] = []
        sessions.events.closed.append(self.session_closed)

    def target(
        self,
        env_id: str,
        ref: str,
        io: str,
        channel: str | None,
        *,
        not_found: type[ApiError],
        row_required: bool = False,
    ) -> Target:
        session = self.sessions.lookup(env_id, ref)
        if session is None and (row_required or ref.startswith(SESSION_PREFIX)):
            raise not_found()
        key = ref if session is None else session.addressing_key
        return Target(session, StreamKey(key, io, channel), names_of(ref, session))

    def check_open(self, session: Session) -> None:
        if session.closed_at is not None:
            raise AppendToClosedSession(session.closed_reason)
        if session.is_expired(self.clock.now_ms()):
            raise AppendToExpiredSession()

    def check_initializable(self, target: Target) -> None:
        """A closed session's channels hand out no write credentials (no session is fine)."""
        if target.session is not None and target.session.closed_at is not None:
            raise InitializeClosedSession()

    def append_part(
        self, env_id: str, target: Target, text: str, part_id: str | None
    ) -> int | None:
        """Append one part as the server wraps it; ``None`` if ``part_id`` was a repeat. A
        session whose run died gets a new run first (so a reader of ``.in`` meets a live
        one), and a part for the session's own ``.in`` is sanitised, as deployed."""
        if target.session is not None and target.stream.channel is None:
            self.sessions.ensure_run(env_id, target.session)
        if target.stream.io == IN and target.stream.channel is None:
            text = strip_client_webhook_source(text)
        body = envelope(text, part_id or self.ids.nanoid(7))
        added = self.channels.append(env_id, target.stream, [((), body)], part_id=part_id)
        for listener in self.on_part:
            listener(env_id, target.stream, text)
        return None if added is None else added[0].seq_num

    def append_records(
        self, env_id: str, stream: StreamKey, items: list[tuple[Headers, str]]
    ) -> list[Record]:
        """Append records as given (the task's own writes: chunks and control records)."""
        added = self.channels.append(env_id, stream, items)
        assert added is not None
        return added

    def session_closed(self, env_id: str, session: Session) -> None:
        key = session.addressing_key
        extra = (
            ((SESSION_CLOSED_REASON_HEADER, session.closed_reason),)
            if session.closed_reason is not None
            else ()
        )
        stream = StreamKey(key, IN)
        self.channels.append(env_id, stream, [(control_headers(SESSION_CLOSED, extra), "")])

    def reset(self, env_id: str | None = None) -> None:
        self.channels.reset(env_id)
        for listener in self.on_reset:
            listener(env_id)
