"""``--contract-through-proxy``'s account of what the proxy saw: the terminal lines, the
files beside the JUnit XML, and the exit status of a run the proxy found violations in.
(Runs through a real proxy are in ``tests/http/test_proxy_contract.py``.)"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from contract_tests.harness import plugin
from contract_tests.harness.proxied import PROXIES, Proxies, ProxyFindings, lines, write_beside


def violation(n: int) -> dict[str, Any]:
    return {
        "id": f"v_{n}",
        "method": "POST",
        "path": "/api/v1/sessions",
        "status": 201,
        "rule": "response.schema",
        "message": "x" * 400 if n == 1 else f"finding {n}",
    }


def summary(violations: int) -> dict[str, Any]:
    return {
        "exchanges": 10,
        "exchangesWithViolations": min(violations, 1),
        "violations": violations,
        "byRule": {"response.schema": violations} if violations else {},
        "refusedRequests": 2,
        "leftAlone": {},
        "fidelity": [{"row": "r", "topic": "t", "documented": 1, "deployed": 0}],
    }


def proxies_with(violations: int) -> Proxies:
    proxies = Proxies()
    found = ProxyFindings("serve-documented", "documented", summary(violations))
    found.violations = [violation(n) for n in range(1, violations + 1)]
    proxies.findings.append(found)
    return proxies


def test_the_terminal_shows_the_counts_and_the_first_violations() -> None:
    shown = lines(proxies_with(25), shown=20)
    assert shown[0] == "proxy in front of serve-documented (expecting documented):"
    assert shown[1].startswith("  10 exchange(s) checked, 25 violation(s) in 1;")
    assert "  the first 20 of 25 violations, oldest first:" in shown
    listed = [line for line in shown if line.startswith("    POST ")]
    assert len(listed) == 20
    assert listed[0].endswith("…") and len(listed[0]) < 400  # long messages are cut
    assert listed[1] == "    POST /api/v1/sessions -> 201  [response.schema] finding 2"
    assert not any("difference:" in line for line in shown)  # the suite reports those


def test_a_proxy_that_could_not_be_read_back_is_not_clean() -> None:
    proxies = Proxies()
    proxies.findings.append(ProxyFindings("t", "either", error="OSError: gone"))
    assert not proxies.clean
    assert "  could not read the proxy's findings: OSError: gone" in lines(proxies)


def test_the_findings_are_written_beside_the_junit_xml(tmp_path: Path) -> None:
    written = write_beside(tmp_path / "contract.xml", proxies_with(2))
    assert written == [tmp_path / "contract.proxy.json", tmp_path / "contract.violations.jsonl"]
    [summary] = json.loads(written[0].read_text())
    assert summary["target"] == "serve-documented" and summary["violations"] == 2
    rows = [json.loads(line) for line in written[1].read_text().splitlines()]
    assert [(row["target"], row["id"]) for row in rows] == [
        ("serve-documented", "v_1"),
        ("serve-documented", "v_2"),
    ]


@pytest.mark.parametrize(
    ("violations", "before", "after"),
    [
        (0, pytest.ExitCode.OK, pytest.ExitCode.OK),
        (1, pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED),
        (1, pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERRUPTED),
    ],
)
def test_a_violation_fails_a_run_that_passed(
    violations: int, before: pytest.ExitCode, after: pytest.ExitCode
) -> None:
    config = SimpleNamespace(stash=pytest.Stash())
    config.stash[PROXIES] = proxies_with(violations)
    session: Any = SimpleNamespace(config=config, exitstatus=before)
    finishing = plugin.pytest_sessionfinish(session)
    next(finishing)
    with pytest.raises(StopIteration):
        finishing.send(None)
    assert session.exitstatus == after
