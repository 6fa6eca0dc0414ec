"""The proxy's violation log: its bound, its filters and ``after`` paging, clearing, the
summary, and the ``--report`` file."""

from __future__ import annotations

from pathlib import Path

import orjson

from mock_server.proxy.violations import Finding, ViolationLog, ViolationQuery


def add(log: ViolationLog, *rules: str, exchange: int = 1, status: int = 200) -> list[str]:
    """One exchange's findings, one per rule; the ids they got."""
    findings = [Finding("response", rule, f"{rule} seen") for rule in rules]
    added = log.add(
        findings,
        exchange=exchange,
        at_ms=0,
        operation="retrieve_session_v1",
        method="GET",
        path="/api/v1/sessions/s",
        status=status,
    )
    return [violation.id for violation in added]


def ids(log: ViolationLog, query: ViolationQuery | None = None, limit: int = 100) -> list[str]:
    return [violation.id for violation in log.find(query or ViolationQuery(), limit)]


def test_the_list_keeps_the_newest_and_counts_the_rest() -> None:
    log = ViolationLog(capacity=3)
    add(log, "cors", "cors", "date-format", "is-cached", "cors")
    assert ids(log) == ["v_5", "v_4", "v_3"]  # newest first
    assert log.dropped == 2
    assert log.total == 5 and log.by_rule == {"cors": 3, "date-format": 1, "is-cached": 1}


def test_after_pages_forward_oldest_first() -> None:
    log = ViolationLog()
    for n in range(1, 6):
        add(log, "cors", exchange=n)
    assert ids(log, ViolationQuery(after="v_2")) == ["v_3", "v_4", "v_5"]
    assert ids(log, ViolationQuery(after="v_2"), limit=2) == ["v_3", "v_4"]
    assert ids(log, ViolationQuery(after="v_5")) == []
    assert ids(log, ViolationQuery(after="v_0", exchange=4)) == ["v_4"]


def test_filters_narrow_the_list() -> None:
    log = ViolationLog()
    add(log, "cors", exchange=1, status=200)
    add(log, "response.status", exchange=2, status=418)
    log.add(
        [Finding("request", "request.schema", "accepted")],
        exchange=3,
        at_ms=0,
        operation="create_session_v1",
        method="POST",
        path="/api/v1/sessions",
        status=201,
    )
    assert ids(log, ViolationQuery(rule="cors")) == ["v_1"]
    assert ids(log, ViolationQuery(status=418)) == ["v_2"]
    assert ids(log, ViolationQuery(direction="request")) == ["v_3"]
    assert ids(log, ViolationQuery(method="post")) == ["v_3"]
    assert ids(log, ViolationQuery(operation="retrieve_session_v1")) == ["v_2", "v_1"]
    assert ids(log, ViolationQuery(exchange=2)) == ["v_2"]
    assert ids(log, ViolationQuery(rule="cors", status=418)) == []


def test_clearing_forgets_everything_but_the_numbering() -> None:
    log = ViolationLog(capacity=1)
    add(log, "cors", "cors")
    log.note(refused=True, left_alone="fault")
    log.read("body_too_large_status", "deployed")
    log.clear()
    summary = log.summary(str)
    assert summary["violations"] == summary["dropped"] == summary["exchanges"] == 0
    assert summary["refusedRequests"] == 0 and summary["leftAlone"] == {}
    assert summary["fidelity"] == [] and ids(log) == []
    assert add(log, "cors") == ["v_3"]  # a client paging with ``after`` still sees it


def test_the_summary_counts_exchanges_rules_refusals_and_readings() -> None:
    log = ViolationLog()
    add(log, "cors", "date-format")
    add(log)
    log.note(refused=True, left_alone=None)
    log.note(refused=False, left_alone="fault")
    log.read("body_too_large_status", "deployed")
    log.read("body_too_large_status", "documented")
    log.read("body_too_large_status", "deployed")
    summary = log.summary(lambda row: f"topic of {row}")
    assert summary == {
        "exchanges": 2,
        "exchangesWithViolations": 1,
        "violations": 2,
        "dropped": 0,
        "byRule": {"cors": 1, "date-format": 1},
        "refusedRequests": 1,
        "leftAlone": {"fault": 1},
        "fidelity": [
            {
                "row": "body_too_large_status",
                "topic": "topic of body_too_large_status",
                "documented": 1,
                "deployed": 2,
            }
        ],
    }


def test_the_report_file_gets_a_json_line_per_violation_as_found(tmp_path: Path) -> None:
    report = tmp_path / "violations.jsonl"
    log = ViolationLog.writing_to(report)
    add(log, "cors", "date-format", exchange=7)
    add(log)  # an exchange without violations writes nothing
    lines = [orjson.loads(line) for line in report.read_bytes().splitlines()]
    assert [(line["id"], line["rule"], line["exchange"]) for line in lines] == [
        ("v_1", "cors", 7),
        ("v_2", "date-format", 7),
    ]
    assert lines[0] == log.find(ViolationQuery(rule="cors"), 1)[0].to_wire()
    log.close()
    again = ViolationLog.writing_to(report)  # a second run appends
    add(again, "is-cached")
    again.close()
    assert len(report.read_bytes().splitlines()) == 3
    assert ViolationLog.writing_to(None).report is None
