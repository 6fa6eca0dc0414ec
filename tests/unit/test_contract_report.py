"""The contract suite's end-of-run summary."""

from __future__ import annotations

from contract_tests.harness.report import Report, rule_text
from mock_server.core.fidelity import DIFFERENCES


def test_rules_are_read_from_test_names() -> None:
    assert rule_text("test_reusing_a_closed_external_id_returns_409[serve-documented]") == (
        "reusing a closed external id returns 409"
    )


def test_a_failure_in_any_parametrisation_sticks() -> None:
    report = Report()
    report.outcome("t", "test_x[a]", "failed")
    report.outcome("t", "test_x[b]", "passed")
    assert report.targets["t"].rules == {"x": "failed"}


def test_the_verdict_says_which_mode_the_target_follows() -> None:
    report = Report()
    report.observe("fake", "validation_style", True, False)
    report.observe("fake", "missing_scope_status", True, False)
    expected = f"behaves as documented in the 2 of {len(DIFFERENCES)} docs-vs-deployed"
    assert report.targets["fake"].verdict().startswith(expected)
    report.observe("mixed", "validation_style", True, False)
    report.observe("mixed", "missing_scope_status", False, True)
    assert report.targets["mixed"].verdict().startswith("mixed")
    assert Report().targets["none"].verdict() == "no docs-vs-deployed difference was observed"


def test_lines_show_failures_and_skips_with_reasons() -> None:
    report = Report()
    report.outcome("real", "test_a", "passed")
    report.outcome("real", "test_b", "failed")
    report.outcome("real", "test_c", "skipped: needs the fake's /_mock/ control plane")
    lines = report.lines(every_rule=False)
    assert lines[0].startswith("target real: 1 rules passed, 1 failed, 1 skipped")
    assert "  failed   b" in lines
    assert "  skipped  c  (needs the fake's /_mock/ control plane)" in lines
    assert all(" a" not in line.split("  ")[-1] for line in lines[1:])


def test_in_process_targets_say_how_much_the_fast_lane_answered() -> None:
    report = Report()
    report.outcome("inprocess-documented", "test_a", "passed")
    report.lane("inprocess-documented", 700, 1000)
    report.lane("inprocess-documented", 12, 20)
    report.outcome("https://staging.example", "test_a", "passed")
    lines = report.lines(every_rule=False)
    assert "  the fast lane answered 712 of its 1,020 API requests; Connexion the rest" in lines
    assert sum("fast lane" in line for line in lines) == 1  # a URL target has no lane
