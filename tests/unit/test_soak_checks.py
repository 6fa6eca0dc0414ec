"""The soak's verdicts (bench/soak_checks.py): what a restarted server may and may not
show, held against what it acknowledged."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from soak_checks import (
    KILL_MARGIN,
    Acked,
    Observed,
    SessionBook,
    check_session,
    check_stream,
    digest,
    drop_order_violations,
    kill_window,
    overlaps,
    rss_verdict,
)

KEY = ("tr_dev_unit", "chat-1", "out", None)


def row(tags: list[str], metadata: Any = None, reason: str | None = None) -> dict[str, Any]:
    closed = None if reason is None else "2026-01-01T00:00:00.000Z"
    return {
        "id": "session_1",
        "tags": tags,
        "metadata": metadata,
        "closedAt": closed,
        "closedReason": reason,
    }


def book() -> SessionBook:
    made = SessionBook("tr_dev_unit", "chat-1", "session_1")
    made.seen(1.0, row(["a"]))
    return made


def test_a_session_shows_its_last_acknowledged_state_or_a_write_whose_answer_was_lost() -> None:
    session = book()
    session.seen(2.0, row(["b"], {"n": 1}))
    session.tried(3.0, (("c",), json.dumps({"n": 2})))  # an injected 500 after the store
    assert not check_session(session, row(["b"], {"n": 1})).problems
    assert not check_session(session, row(["c"], {"n": 2})).problems
    assert check_session(session, row(["a"])).problems  # an acknowledged update went back
    assert check_session(session, None).problems
    assert check_session(session, {**row(["b"], {"n": 1}), "id": "session_2"}).problems


def test_a_close_must_survive_and_keep_its_reason() -> None:
    session = book()
    session.seen(2.0, row(["a"], reason="done"))
    assert not check_session(session, row(["a"], reason="done")).problems
    assert check_session(session, row(["a"])).problems
    assert check_session(session, row(["a"], reason="other")).problems


def test_after_a_kill_only_writes_acknowledged_inside_the_window_may_be_missing() -> None:
    session = book()
    session.seen(5.0, row(["late"]))
    inside = check_session(session, row(["a"]), cutoff=4.0, kill=5.2)
    assert not inside.problems
    assert inside.lost_in_window == [pytest.approx(0.2)]
    assert check_session(session, row(["a"]), cutoff=6.0, kill=7.0).problems
    young = SessionBook("tr_dev_unit", "new", "session_2")
    young.seen(5.0, row([]))
    assert check_session(young, None, cutoff=4.0, kill=5.2).lost_in_window == [pytest.approx(0.2)]
    assert check_session(young, None, cutoff=6.0, kill=7.0).problems


def api(at: float, text: str, part: str) -> tuple[Acked, str]:
    return Acked(at, digest(text), part), json.dumps({"data": text, "id": part})


def test_records_below_the_oldest_kept_were_the_budgets_others_must_be_there() -> None:
    acked, bodies = {}, {}
    for seq in range(5):
        acked[seq], bodies[seq] = api(float(seq), f"text {seq}", f"p{seq}")
    kept = Observed(tail=5, records={seq: bodies[seq] for seq in (2, 3, 4)})
    verdict, lost = check_stream(KEY, acked, kept)
    assert (verdict.problems, verdict.missing_by_budget, lost) == ([], 2, [])
    hole = Observed(tail=5, records={seq: bodies[seq] for seq in (2, 4)})
    assert "seq 3 missing" in check_stream(KEY, acked, hole)[0].problems[0]
    changed = Observed(tail=5, records={**kept.records, 4: bodies[3]})
    assert "another body" in check_stream(KEY, acked, changed)[0].problems[0]
    behind = Observed(tail=4, records={seq: bodies[seq] for seq in (2, 3)})
    assert "tail 4" in check_stream(KEY, acked, behind)[0].problems[0]
    emptied = Observed(tail=5, records={})
    assert check_stream(KEY, acked, emptied)[0].missing_by_budget == 5


def test_records_lost_to_a_kill_are_named_for_forgetting() -> None:
    acked, bodies = {}, {}
    for seq in range(4):
        acked[seq], bodies[seq] = api(10.0 + seq, f"text {seq}", f"p{seq}")
    saved = Observed(tail=2, records={0: bodies[0], 1: bodies[1]})
    verdict, lost = check_stream(KEY, acked, saved, cutoff=11.5, kill=13.5)
    assert (verdict.problems, lost) == ([], [2, 3])
    assert verdict.lost_in_window == [pytest.approx(1.5), pytest.approx(0.5)]
    verdict, _ = check_stream(KEY, acked, saved, cutoff=12.5, kill=14.5)
    assert "seq 2" in verdict.problems[0]


def test_an_s2_record_is_compared_by_its_body() -> None:
    acked = {0: Acked(1.0, digest("raw"), None)}
    assert not check_stream(KEY, acked, Observed(1, {0: "raw"}))[0].problems
    assert check_stream(KEY, acked, Observed(1, {0: "other"}))[0].problems


def test_the_budget_drops_the_oldest_first() -> None:
    assert drop_order_violations([1.0, 2.0], [3.0, 4.0], tolerance=0.5) == 0
    assert drop_order_violations([1.0, 9.0], [3.0, 4.0], tolerance=0.5) == 1
    assert drop_order_violations([3.2], [3.0], tolerance=0.5) == 0


def test_the_kill_window_is_two_consecutive_save_gaps_less_the_interval() -> None:
    margin = KILL_MARGIN + 0.04
    assert kill_window([0.55, 0.6, 0.7, 0.5], 0.5, 0.02) == pytest.approx(1.3 - 0.5 + margin)
    assert kill_window([0.6], 0.5, 0.02) == pytest.approx(1.2 - 0.5 + margin)
    assert kill_window([], 0.5, 0.02) > 0.5


def test_overlaps() -> None:
    assert overlaps(1.0, 2.0, [(1.5, 3.0)])
    assert not overlaps(1.0, 2.0, [(2.5, 3.0)])


def rss(samples: list[tuple[float, float]], settled: float = 0.0) -> list[str]:
    verdict = rss_verdict(
        samples,
        start=0.0,
        end=90.0,
        settled=settled,
        baseline=50.0,
        budget_mib=32.0,
        slack_mib=20.0,
        climb_mib=8.0,
    )
    return verdict.problems


def test_rss_must_level_off_under_its_bound() -> None:
    flat = [(float(s), 60.0 + (s % 3)) for s in range(91)]
    assert rss(flat) == []
    climbing = [(float(s), 60.0 + s * 0.3) for s in range(91)]
    assert any("climbing" in p for p in rss(climbing))
    high = [(float(s), 110.0) for s in range(91)]
    assert any("over the bound 102" in p for p in rss(high))


def test_a_restarts_warm_up_is_not_a_climb() -> None:
    restarted = [(float(s), 60.0 if s < 45 or s > 55 else 40.0 + 2 * (s - 45)) for s in range(91)]
    assert rss(restarted, settled=55.0) == []
    # Too little of the second third left after the warm-up: the last third's halves.
    assert rss(restarted, settled=58.0) == []
    assert any("climbing" in p for p in rss([(float(s), 40.0 + s) for s in range(91)], 70.0))
