"""Who may do what: the resources each operation needs from a public token.

Secret keys may do everything; these checks only bite for public access tokens.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from ..core.errors import ApiError
from ..sessions.model import Session
from .authenticator import Principal
from .scopes import Resource

_SESSIONS = Resource("sessions")
_TASKS = Resource("tasks")


def to_create(
    principal: Principal, task_identifier: str, external_id: str | None, *, name_session: bool
) -> None:
    """``write`` on the task, or on sessions. With ``name_session`` (the documented
    reading) a scope naming the session's externalId is enough; otherwise (the deployed
    server) the sessions scope must carry no id."""
    session = Resource("sessions", external_id) if name_session and external_id else _SESSIONS
    principal.require_any("write", [Resource("tasks", task_identifier), session])


def to_list(principal: Principal, task_identifiers: Collection[str]) -> None:
    """``read`` on sessions or tasks in general; filtering by task narrows it to
    ``read`` on each of those tasks."""
    principal.require_every(
        "read",
        [Resource("tasks", t) for t in sorted(task_identifiers)],
        otherwise=[_SESSIONS, _TASKS],
    )


def to_read(principal: Principal, session: Session) -> None:
    """``read`` on the session, named by its id or by its externalId."""
    principal.require_any("read", [Resource("sessions", key) for key in session.scope_keys])


def to_snapshot(principal: Principal, action: str, ref: str, session: Session | None) -> None:
    """``read`` (a download URL) or ``write`` (an upload URL) on the session, named as the
    URL names it or by any of its keys; a token for another session gets nothing."""
    keys = (ref,) if session is None else (ref, *session.scope_keys)
    principal.require_any(action, [Resource("sessions", key) for key in dict.fromkeys(keys)])


def to_administer(principal: Principal, ref: str) -> None:
    """``admin`` on the session exactly as the URL names it (update and close)."""
    principal.require_any("admin", [Resource("sessions", ref)])


def _channel_resources(keys: Iterable[str], channel: str | None, io: str) -> list[Resource]:
    """A channel is named by any key of its session; a named side channel also by a
    scope narrowed to it (``K:channels:NAME``) or to one direction (``…:NAME:out``)."""
    resources = []
    for key in keys:
        resources.append(Resource("sessions", key))
        if channel is not None:
            resources.append(Resource("sessions", f"{key}:channels:{channel}"))
            resources.append(Resource("sessions", f"{key}:channels:{channel}:{io}"))
    return resources


def to_read_channel(
    principal: Principal, keys: Iterable[str], channel: str | None, io: str
) -> None:
    """``read`` on the session (any of its keys), or on that side channel."""
    principal.require_any("read", _channel_resources(keys, channel, io))


def to_write_channel(
    principal: Principal, keys: Iterable[str], channel: str | None, io: str
) -> None:
    """``write`` on the session (any of its keys), or on that side channel."""
    principal.require_any("write", _channel_resources(keys, channel, io))


def to_write_out(principal: Principal, io: str, refusal: type[ApiError]) -> None:
    """``.out`` belongs to the task: only a secret key appends to or initializes it."""
    if io == "out" and principal.is_public_token:
        raise refusal()
