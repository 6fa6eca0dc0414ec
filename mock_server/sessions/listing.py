"""Listing sessions: the query, the indexes behind it, and cursor paging.

Rows are ordered by internal id, newest first. The id source mints ids that only grow, so
id order is creation order, and the cursor (``page[after]`` / ``page[before]``) is simply
an id bound, as on the real server: an unknown cursor is not an error, it is a position.

Each environment keeps its ids in sorted lists, one for all sessions and one per type,
task, tag and for closed sessions, so a page costs a bisection plus the rows it walks,
not a scan of the environment.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any, Final

from ..core.errors import Issue, QueryError
from ..core.times import parse_iso_ms
from .durations import parse_period
from .model import Session, SessionStatus

DEFAULT_PAGE_SIZE: Final = 20


class SortedIds:
    """Ascending ids. New ids are larger than every stored one, so adding is an append."""

    __slots__ = ("_ids",)

    def __init__(self) -> None:
        self._ids: list[str] = []

    def __len__(self) -> int:
        return len(self._ids)

    def as_list(self) -> list[str]:
        """The ids themselves, ascending (not a copy: read it under the store's lock)."""
        return self._ids

    def add(self, id_: str) -> None:
        if not self._ids or id_ > self._ids[-1]:
            self._ids.append(id_)
        else:
            bisect.insort(self._ids, id_)

    def discard(self, id_: str) -> None:
        at = bisect.bisect_left(self._ids, id_)
        if at < len(self._ids) and self._ids[at] == id_:
            del self._ids[at]

    def descending_below(self, bound: str | None) -> Iterator[str]:
        """Ids ``< bound`` (all ids when ``bound`` is None), largest first."""
        ids = self._ids
        start = len(ids) if bound is None else bisect.bisect_left(ids, bound)
        return (ids[i] for i in range(start - 1, -1, -1))

    def ascending_above(self, bound: str) -> Iterator[str]:
        """Ids ``> bound``, smallest first."""
        ids = self._ids
        return (ids[i] for i in range(bisect.bisect_right(ids, bound), len(ids)))


@dataclass(frozen=True, slots=True)
class ListQuery:
    size: int = DEFAULT_PAGE_SIZE
    after: str | None = None
    before: str | None = None
    types: frozenset[str] = frozenset()
    tasks: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    external_id: str | None = None
    statuses: frozenset[SessionStatus] = frozenset()
    created_from: int | None = None
    created_to: int | None = None
    period_ms: float | None = None

    @classmethod
    def from_params(
        cls,
        page: Mapping[str, Any] | None,
        filters: Mapping[str, Any] | None,
        *,
        bad_period_ignored: bool,
    ) -> ListQuery:
        """Build a query from the validated ``page`` and ``filter`` parameters."""
        page, filters = page or {}, filters or {}
        after, before = page.get("after") or None, page.get("before") or None
        if after and before:
            message = "Cannot pass both page[after] and page[before] on the same request"
            raise QueryError([Issue("custom", message, ("page[before]",))])
        created = filters.get("createdAt") or {}
        period = created.get("period")
        period_ms = parse_period(period) if period else None
        if period and period_ms is None and not bad_period_ignored:
            message = f"Invalid period {period!r}: use a number and a unit, like 30m, 12h or 7d"
            raise QueryError([Issue("custom", message, ("filter[createdAt][period]",))])
        return cls(
            size=int(page.get("size") or DEFAULT_PAGE_SIZE),
            after=after,
            before=before,
            types=frozenset(filters.get("type") or ()),
            tasks=frozenset(filters.get("taskIdentifier") or ()),
            tags=frozenset(filters.get("tags") or ()),
            external_id=filters.get("externalId") or None,
            statuses=frozenset(SessionStatus(s) for s in filters.get("status") or ()),
            created_from=_instant_ms(created.get("from")),
            created_to=_instant_ms(created.get("to")),
            period_ms=period_ms or None,
        )

    def matcher(self, now_ms: int) -> Callable[[Session], bool]:
        lower: float | None = self.created_from
        if self.period_ms is not None:
            since = now_ms - self.period_ms
            lower = since if lower is None else max(lower, since)

        def matches(s: Session) -> bool:
            return (
                (not self.types or s.type in self.types)
                and (not self.tasks or s.task_identifier in self.tasks)
                and (not self.tags or not self.tags.isdisjoint(s.tags))
                and (self.external_id is None or s.external_id == self.external_id)
                and (lower is None or s.created_at >= lower)
                and (self.created_to is None or s.created_at <= self.created_to)
                and (not self.statuses or s.status(now_ms) in self.statuses)
            )

        return matches


def _instant_ms(value: object) -> int | None:
    """Epoch ms (ints, as the SDK sends) or an ISO date-time; 0 or absent means no bound."""
    if isinstance(value, str):
        return parse_iso_ms(value)
    return int(value) if isinstance(value, int) and value else None


def _ids_for(index: dict[str, SortedIds], value: str) -> SortedIds:
    """The value's id list, made on its first use."""
    found = index.get(value)
    if found is None:
        found = index[value] = SortedIds()
    return found


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Session]
    next: str | None
    previous: str | None


class SessionIndex:
    """Sorted id lists for one environment: everything, and per filterable value."""

    __slots__ = ("all", "by_tag", "by_task", "by_type", "closed")

    def __init__(self) -> None:
        self.all = SortedIds()
        self.by_type: dict[str, SortedIds] = {}
        self.by_task: dict[str, SortedIds] = {}
        self.by_tag: dict[str, SortedIds] = {}
        self.closed = SortedIds()

    def add(self, s: Session) -> None:
        self.all.add(s.internal_id)
        _ids_for(self.by_type, s.type).add(s.internal_id)
        _ids_for(self.by_task, s.task_identifier).add(s.internal_id)
        self.retag(s.internal_id, (), s.tags)

    def retag(self, id_: str, old: Iterable[str], new: Iterable[str]) -> None:
        for tag in set(old) - set(new):
            self.by_tag[tag].discard(id_)
        for tag in set(new) - set(old):
            _ids_for(self.by_tag, tag).add(id_)

    def _sources(self, q: ListQuery) -> list[list[SortedIds]]:
        """Each alternative is a union of lists that together hold every match."""
        options = [[self.all]]
        for wanted, index in (
            (q.types, self.by_type),
            (q.tasks, self.by_task),
            (q.tags, self.by_tag),
        ):
            if wanted:
                options.append([index[v] for v in wanted if v in index])
        if q.statuses == {SessionStatus.CLOSED}:
            options.append([self.closed])
        return options

    def candidates(
        self,
        q: ListQuery,
        *,
        descending_below: str | None = None,
        ascending_above: str | None = None,
    ) -> Iterator[str]:
        """Ids that may match, from the smallest index that covers the query."""
        union = min(self._sources(q), key=lambda lists: sum(len(x) for x in lists))
        if ascending_above is not None:
            streams = [ids.ascending_above(ascending_above) for ids in union]
            merged = heapq.merge(*streams)
        else:
            streams = [ids.descending_below(descending_below) for ids in union]
            merged = heapq.merge(*streams, reverse=True)
        last = None
        for id_ in merged:
            if id_ != last:
                last = id_
                yield id_


def paginate(
    index: SessionIndex,
    sessions: Mapping[str, Session],
    by_external: Mapping[str, Session],
    q: ListQuery,
    *,
    now_ms: int,
    deployed_edges: bool,
) -> Page:
    matches = q.matcher(now_ms)
    if q.external_id is not None:
        only = by_external.get(q.external_id)
        pool = [only] if only is not None and matches(only) else []
        if q.before:
            ordered = [s for s in pool if s.internal_id > q.before]
        else:
            ordered = [s for s in pool if q.after is None or s.internal_id < q.after]
        found = iter(ordered)
    elif q.before:
        found = (
            s
            for s in map(sessions.__getitem__, index.candidates(q, ascending_above=q.before))
            if matches(s)
        )
    else:
        found = (
            s
            for s in map(sessions.__getitem__, index.candidates(q, descending_below=q.after))
            if matches(s)
        )
    taken = list(islice(found, q.size + 1))
    more = len(taken) > q.size
    rows = taken[: q.size]

    def exists(**bound: str) -> bool:
        if q.external_id is not None:
            return False
        return any(matches(sessions[i]) for i in index.candidates(q, **bound))

    if q.before:
        rows.reverse()
        previous = rows[0].internal_id if more and rows else None
        if deployed_edges:
            nxt = rows[-1].internal_id if len(rows) == q.size else None
        else:
            nxt = (
                rows[-1].internal_id
                if rows and exists(descending_below=rows[-1].internal_id)
                else None
            )
        return Page(rows, nxt, previous)
    nxt = rows[-1].internal_id if more else None
    if deployed_edges:
        previous = rows[0].internal_id if q.after and rows else None
    else:
        previous = (
            rows[0].internal_id if rows and exists(ascending_above=rows[0].internal_id) else None
        )
    return Page(rows, nxt, previous)
