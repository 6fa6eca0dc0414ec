"""Paging and filtering over the indexes, and the cost of a page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mock_server.core.clock import ControllableClock
from mock_server.core.errors import QueryError
from mock_server.core.ids import IdSource
from mock_server.sessions.durations import parse_period
from mock_server.sessions.environment import EnvironmentState
from mock_server.sessions.listing import ListQuery, SortedIds, paginate
from mock_server.sessions.requests import NewSession
from mock_server.sessions.store import SessionStore

MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("7d", 7 * DAY),
        ("1h", HOUR),
        ("30m", 30 * MINUTE),
        ("2w", 14 * DAY),
        ("90", 90),
        ("1h30m", 90 * MINUTE),
        ("1.5h", 90 * MINUTE),
        ("2 days", 2 * DAY),
        ("90s", 90_000),
        ("500ms", 500),
        ("1mo", 365.25 * DAY / 12),
        ("1y", 365.25 * DAY),
        ("1H", HOUR),
        ("1,000ms", 1000),
        ("-1d", -DAY),
        ("soon", None),
        ("", None),
        ("5 parsecs", None),
        ("1h30", 90 * MINUTE),
        ("500MS", 500),
        ("2 Hours", 2 * HOUR),
        ("3 milliseconds", 3),
        ("1 000ms", 1000),
        (" -1d", DAY),
        ("0d", 0),
        ("1h junk 30m", 90 * MINUTE),
    ],
)
def test_periods_parse_like_parse_duration(text: str, ms: float | None) -> None:
    assert parse_period(text) == ms


def test_sorted_ids_walk_both_ways_from_any_bound() -> None:
    ids = SortedIds()
    for value in ("c3", "c1", "c2", "c5"):
        ids.add(value)
    assert list(ids.descending_below(None)) == ["c5", "c3", "c2", "c1"]
    assert list(ids.descending_below("c3")) == ["c2", "c1"]
    assert list(ids.descending_below("c4")) == ["c3", "c2", "c1"]
    assert list(ids.ascending_above("c2")) == ["c3", "c5"]
    ids.discard("c3")
    ids.discard("zz")
    assert list(ids.ascending_above("a")) == ["c1", "c2", "c5"]


def test_both_cursors_and_bad_periods_are_query_errors() -> None:
    with pytest.raises(QueryError):
        ListQuery.from_params({"after": "a", "before": "b"}, {}, bad_period_ignored=False)
    with pytest.raises(QueryError):
        ListQuery.from_params({}, {"createdAt": {"period": "soon"}}, bad_period_ignored=False)
    ignored = ListQuery.from_params({}, {"createdAt": {"period": "soon"}}, bad_period_ignored=True)
    assert ignored.period_ms is None


class CountingSessions(dict[str, Any]):
    """A session map that counts how many rows a page looked at."""

    reads = 0

    def __getitem__(self, key: str) -> Any:
        self.reads += 1
        return super().__getitem__(key)

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("a page must not iterate over every session")


def populated(count: int) -> tuple[SessionStore, EnvironmentState]:
    clock = ControllableClock()
    store = SessionStore(clock, IdSource(clock, seed=9))
    for i in range(count):
        store.create(
            "env",
            NewSession(
                type="rare" if i % 1000 == 0 else "common",
                task_identifier=f"task{i % 7}",
                trigger_config={"basePayload": {}},
                tags=[f"tag{i % 3}"],
            ),
        )
    state = store._environments["env"]
    return store, state


def page_reads(
    state: EnvironmentState, query: ListQuery, *, deployed: bool = False
) -> tuple[int, int]:
    counting = CountingSessions(state.sessions)
    page = paginate(
        state.index, counting, state.by_external, query, now_ms=0, deployed_edges=deployed
    )
    return len(page.rows), counting.reads


def test_a_page_reads_only_about_its_own_rows() -> None:
    _, state = populated(20_000)
    middle = sorted(state.sessions)[10_000]
    # size + 1 rows to learn whether there is a next page, + 1 to learn about a previous one
    assert page_reads(state, ListQuery(size=50)) == (50, 51)
    assert page_reads(state, ListQuery(size=50, after=middle)) == (50, 52)
    assert page_reads(state, ListQuery(size=50, before=middle)) == (50, 52)
    assert page_reads(state, ListQuery(size=50, before=middle), deployed=True) == (50, 51)
    assert page_reads(state, ListQuery(size=10, types=frozenset({"rare"}))) == (10, 11)
    assert page_reads(state, ListQuery(size=5, tags=frozenset({"tag1", "tag2"}))) == (5, 6)
    assert page_reads(state, ListQuery(size=5, tasks=frozenset({"task3"}), after=middle)) == (5, 7)


def test_pages_cover_every_row_once_in_both_directions() -> None:
    store, state = populated(257)
    newest_first = sorted(state.sessions, reverse=True)
    seen, cursor = [], None
    while True:
        page = store.page("env", ListQuery(size=20, after=cursor))
        seen += [s.internal_id for s in page.rows]
        if not page.next:
            break
        cursor = page.next
    assert seen == newest_first
    back: list[str] = []
    cursor = seen[-1]
    while cursor:
        page = store.page("env", ListQuery(size=20, before=cursor))
        back = [s.internal_id for s in page.rows] + back
        cursor = page.previous
    assert back == newest_first[:-1]
