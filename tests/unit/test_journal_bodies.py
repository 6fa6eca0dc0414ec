"""The journal's bound on bodies: at most BODY_BUDGET bytes over all entries, the oldest
entries letting go of theirs first, and nothing kept for entries that dropped out."""

from __future__ import annotations

from typing import Any

from mock_server.http.journal import RequestJournal


def fields(request: int, response: int = 0) -> dict[str, Any]:
    return {
        "at_ms": 0,
        "method": "POST",
        "path": "/x",
        "query": "",
        "status": 200,
        "latency_ms": 1.0,
        "request_headers": [],
        "request_bytes": request,
        "response_bytes": response,
        "request_body": [b"q" * request] if request else [],
        "response_body": [b"r" * response] if response else [],
    }


def test_the_oldest_entries_let_go_of_their_bodies_past_the_budget() -> None:
    journal = RequestJournal(capacity=100, body_budget=2500)
    for _ in range(5):
        journal.record(**fields(1000))
    assert journal.body_bytes == 2000
    entries = [journal.get(n) for n in range(1, 6)]
    kept = [sum(len(c) for c in e.request_body) if e else None for e in entries]
    assert kept == [0, 0, 0, 1000, 1000]
    first = journal.get(1)
    assert first is not None and first.request_bytes == 1000  # what was sent is still told


def test_a_single_entry_over_the_budget_keeps_its_body() -> None:
    journal = RequestJournal(capacity=10, body_budget=10)
    journal.record(**fields(50, 20))
    assert journal.body_bytes == 70


def test_entries_that_drop_out_leave_nothing_behind() -> None:
    journal = RequestJournal(capacity=3, body_budget=10**9)
    for _ in range(50):
        journal.record(**fields(10, 5))
    assert journal.body_bytes == 3 * 15
    assert len(journal._bodied) == 3
    journal.clear()
    assert (journal.body_bytes, len(journal._bodied)) == (0, 0)
