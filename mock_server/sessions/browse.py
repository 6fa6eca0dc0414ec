"""Browsing one environment's sessions for the control plane (``GET /_mock/sessions`` with
a search, filters or paging): a page in one of four orders, and how many sessions match.

The API's listing (:mod:`.listing`) walks a cursor; a dashboard wants a count and an
offset, so this walks differently, on the same indexes. The smallest index that holds
every match (a type's, a tag's, the closed sessions') is the starting list; only when a
condition remains that no index answers (a search, a status, a second filter) is each
candidate looked at, once, in one pass. Types, tasks and tags are few, so a search
matches them by name first and tests a session's own values only for its id and
externalId. Creation order is id order (ids only grow), so that order needs no sort.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Final

from ..core.ids import SESSION_PREFIX
from .environment import EnvironmentState
from .listing import SessionIndex
from .model import Session, SessionStatus

SORTS: Final = ("createdAt", "-createdAt", "updatedAt", "-updatedAt")
DEFAULT_SORT: Final = "-createdAt"

Check = Callable[[Session], bool]


@dataclass(frozen=True, slots=True)
class BrowseQuery:
    """Every field left ``None`` matches anything."""

    text: str | None = None
    """A substring (any case) of the id, externalId, taskIdentifier, type or a tag."""
    type: str | None = None
    status: SessionStatus | None = None
    tag: str | None = None
    sort: str = DEFAULT_SORT
    limit: int | None = None
    """``None``: every match from ``offset`` on."""
    offset: int = 0

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}")


@dataclass(frozen=True, slots=True)
class Browsed:
    total: int
    """Matches before paging."""
    rows: list[Session]


def browse(env: EnvironmentState, q: BrowseQuery, now_ms: int) -> Browsed:
    """The page ``q`` asks for, and the number of matches."""
    ids, by_index = _start(env.index, q)
    checks = _checks(env.index, q, now_ms, by_index)
    sessions = env.sessions
    if not checks and q.sort.endswith("createdAt"):  # count and page without a scan
        total = len(ids)
        stop = total if q.limit is None else min(total, q.offset + q.limit)
        if q.sort == "createdAt":
            chosen = ids[q.offset : stop]
        else:
            chosen = ids[max(total - stop, 0) : max(total - q.offset, 0)][::-1]
        return Browsed(total, [sessions[i] for i in chosen])
    rows = list(map(sessions.__getitem__, ids))
    for check in checks:  # one pass each, the cheap ones (and the narrowest) first
        rows = list(filter(check, rows))
    if q.sort.startswith("-"):
        rows.reverse()  # newest id first, which also breaks updatedAt ties
    if q.sort.endswith("updatedAt"):  # stable: ties keep id order
        rows.sort(key=attrgetter("updated_at"), reverse=q.sort.startswith("-"))
    end = None if q.limit is None else q.offset + q.limit
    return Browsed(len(rows), rows[q.offset : end])


def _start(index: SessionIndex, q: BrowseQuery) -> tuple[list[str], str | None]:
    """The smallest ascending id list that holds every match, and which filter it
    answers (``None`` for the list of all ids)."""
    options: list[tuple[list[str], str | None]] = [(index.all.as_list(), None)]
    if q.type is not None:
        found = index.by_type.get(q.type)
        options.append((found.as_list() if found else [], "type"))
    if q.tag is not None:
        found = index.by_tag.get(q.tag)
        options.append((found.as_list() if found else [], "tag"))
    if q.status is SessionStatus.CLOSED:
        options.append((index.closed.as_list(), "status"))
    return min(options, key=lambda option: len(option[0]))


def _checks(index: SessionIndex, q: BrowseQuery, now_ms: int, by_index: str | None) -> list[Check]:
    """Tests for the conditions the starting list does not answer."""
    checks: list[Check] = []
    if q.type is not None and by_index != "type":
        wanted_type = q.type
        checks.append(lambda s: s.type == wanted_type)
    if q.tag is not None and by_index != "tag":
        wanted_tag = q.tag
        checks.append(lambda s: wanted_tag in s.tags)
    if q.status is not None and by_index != "status":
        checks.append(_status_check(q.status, now_ms))
    if q.text is not None:
        checks.append(_search(index, q.text.lower()))
    return checks


def _status_check(status: SessionStatus, now_ms: int) -> Check:
    """:meth:`Session.status` spelled out, for speed: closed first, then expired."""
    if status is SessionStatus.CLOSED:
        return lambda s: s.closed_at is not None
    if status is SessionStatus.EXPIRED:
        return lambda s: s.closed_at is None and s.expires_at is not None and s.expires_at < now_ms
    return lambda s: s.closed_at is None and (s.expires_at is None or s.expires_at >= now_ms)


def _search(index: SessionIndex, text: str) -> Check:
    types = {t for t in index.by_type if text in t.lower()}
    tasks = {t for t in index.by_task if text in t.lower()}
    tags = {t for t in index.by_tag if text in t.lower()}
    # Internal ids are lowercase cuids; only a text reaching into ``session_`` needs the
    # whole id built to be tested.
    prefix = SESSION_PREFIX
    whole_id = text in prefix or any(text.startswith(prefix[n:]) for n in range(len(prefix)))

    def hit(s: Session) -> bool:
        if s.type in types or s.task_identifier in tasks:
            return True
        if text in (prefix + s.internal_id if whole_id else s.internal_id):
            return True
        external = s.external_id
        if external is not None and text in external.lower():
            return True
        return bool(tags) and not tags.isdisjoint(s.tags)

    return hit
