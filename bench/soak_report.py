"""What the soak found, judged: the summary (JSON) and its one-line form."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from soak_checks import Verdict, drop_order_violations, overlaps, rss_verdict
from soak_hostile import HEADER_CASES, KILLED
from soak_traffic import Traffic

MIB = 1 << 20
UNRESPONSIVE = 5.0
"""Seconds ``/_mock/health`` may take before the server counts as frozen."""
SETTLE = 10.0
"""Seconds a restarted server takes to settle (load its state, warm its journal) before
its RSS counts against the second third's."""
ORDER_TOLERANCE = 3.0
"""Seconds by which acknowledgements may lag the order the server stored the records in
(answers queue behind a state-file write, and the client's own loop is busy)."""


@dataclass
class Report:
    args: dict[str, Any]
    budget: int
    cap: int
    own_keys: int = 0
    """Keys the soak itself uses (each one an environment)."""
    starts: list[float] = field(default_factory=list)
    baseline: float = 0.0
    slack: float = 0.0
    slack_parts: dict[str, float] = field(default_factory=dict)
    load_start: float = 0.0
    load_end: float = 0.0
    paused: float = 0.0
    health: dict[int, dict[str, Any]] = field(default_factory=dict)
    """The last ``/_mock/health`` of each incarnation."""
    health_after: dict[str, Any] = field(default_factory=dict)
    most_sessions: int = 0
    slowest: tuple[float, float] = (0.0, 0.0)
    """The slowest ``/_mock/health`` answer (seconds) and when it was asked (seconds into
    the load): a server that stops answering shows here first."""
    kill_at: float = 0.0
    kill_windows: list[tuple[float, float]] = field(default_factory=list)
    save_gaps: list[float] = field(default_factory=list)
    window: float = 0.0
    at_kill: Verdict = field(default_factory=Verdict)
    final: Verdict = field(default_factory=Verdict)
    order_samples: list[tuple[list[float], list[float]]] = field(default_factory=list)
    stop_exit: int | None = None
    final_exit: int | None = None
    crashes: list[str] = field(default_factory=list)
    rss_samples: list[tuple[float, int, float]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)


def _records(health: dict[str, Any]) -> dict[str, Any]:
    found = health.get("records")
    return found if isinstance(found, dict) else {}


def summary(report: Report, t: Traffic) -> dict[str, Any]:
    tally, reasons = t.tally, []
    statuses: Counter[str] = Counter()
    for counts in tally.ops.values():
        statuses.update(counts)
    errors = Counter[str]()
    unexpected = []
    for failure in tally.failures:
        if failure.excuse == "fault":
            errors["injected drops"] += 1
        elif overlaps(failure.start, failure.end, report.kill_windows):
            errors["kill window"] += 1
        else:
            errors["unexpected"] += 1
            at = failure.start - report.load_start
            took = failure.end - failure.start
            unexpected.append(f"{failure.op}: {failure.kind} (sent at {at:.1f} s, {took:.1f} s)")
    if errors["unexpected"]:
        reasons.append(f"{errors['unexpected']} connection errors outside the kill window")
    if tally.server_errors:
        reasons.append(f"5xx not injected nor a bound's: {dict(tally.server_errors)}")
    if report.slowest[0] > UNRESPONSIVE:
        took, at = report.slowest
        reasons.append(
            f"the server stopped answering: /_mock/health took {took:.0f} s ({at:.0f} s in)"
        )
    reasons += [f"inconsistent answer: {text}" for text in tally.anomalies[:10]]
    reasons += [f"worker crashed: {text}" for text in report.crashes]

    # Memory: what the load ran with, both incarnations, on the load's own timeline.
    samples = [(at, mib) for at, _, mib in report.rss_samples]
    restarted = report.kill_windows[-1][1] if report.kill_windows else report.load_start
    rss = rss_verdict(
        [(at, mib) for at, mib in samples if report.load_start <= at <= report.load_end],
        start=report.load_start,
        end=report.load_end,
        settled=restarted + SETTLE,
        baseline=report.baseline,
        budget_mib=report.budget / MIB,
        slack_mib=report.slack,
        climb_mib=max(8.0, 0.1 * report.budget / MIB),
    )
    reasons += rss.problems

    # Records: a missing one must have been the budget's doing, the oldest first.
    dropped = sum(_records(h).get("dropped", 0) for h in report.health.values())
    dropped += _records(report.health_after).get("dropped", 0)
    missing = report.final.missing_by_budget + report.at_kill.missing_by_budget
    if missing and not dropped:
        reasons.append(f"{missing} acknowledged records missing, yet health reports none dropped")
    out_of_order = sum(
        drop_order_violations(gone, kept, ORDER_TOLERANCE) for gone, kept in report.order_samples
    )
    if out_of_order:
        reasons.append(f"{out_of_order} records dropped while older ones were kept")
    reasons += [f"after the kill: {text}" for text in report.at_kill.problems]
    reasons += [f"after the clean stop: {text}" for text in report.final.problems]
    lost = report.at_kill.lost_in_window

    # Bounds: each cap the soak went past must have answered.
    bounds = dict(tally.bounds)
    if report.most_sessions > report.cap:
        reasons.append(f"session cap {report.cap} not enforced: {report.most_sessions} stored")
    made = tally.probes["environments"].get("201", 0)
    limit = report.args["max_environments"]
    if made + report.own_keys > limit:
        reasons.append(f"environment cap {limit} not enforced: {made} new keys accepted")
    if tally.probes["sse-readers"].get("not refused"):
        reasons.append(f"SSE reader cap not enforced: {report.args['max_sse_readers'] + 3} open")
    for case in HEADER_CASES:
        wrong = {k: n for k, n in tally.hostile.get(case, {}).items() if k not in ("408", KILLED)}
        if wrong:
            reasons.append(f"{case}: not answered 408 within the header timeout: {wrong}")
    for when, status in (("at the end", report.stop_exit), ("after the checks", report.final_exit)):
        if status != 0:
            reasons.append(f"SIGTERM {when}: exit status {status}")

    gaps = sorted(report.save_gaps)
    result: dict[str, Any] = {
        "passed": not reasons,
        "reasons": reasons,
        "durationS": round(report.load_end - report.load_start, 1),
        "pausedForKillS": round(report.paused, 2),
        "server": {
            "recordBudgetMiB": report.budget / MIB,
            "maxSessions": report.cap,
            "startsS": [round(s, 2) for s in report.starts],
            "exitOnSigterm": report.stop_exit,
        },
        "requests": sum(statuses.values()),
        "requestsPerOperation": {op: dict(c) for op, c in sorted(tally.ops.items())},
        "latencyMs": {op: _spread(times) for op, times in sorted(tally.latency.items())},
        "statuses": dict(sorted(statuses.items())),
        "injectedFaults": dict(tally.injected),
        "faultProbes": dict(tally.probes["faults"]),
        "boundsAnswered": bounds,
        "capProbes": {k: dict(v) for k, v in tally.probes.items() if k != "faults"},
        "mostSessions": report.most_sessions,
        "slowestHealthS": round(report.slowest[0], 2),
        "hostile": {k: dict(v) for k, v in sorted(tally.hostile.items())},
        "connectionErrors": dict(errors),
        "unexpectedErrors": unexpected[:20],
        "serverErrors": tally.server_error_samples,
        "rss": {
            "startMiB": round(samples[0][1], 1) if samples else None,
            "baselineMiB": round(rss.baseline, 1),
            "plateauMiB": round(rss.last_third, 1),
            "comparedWith": {"window": rss.earlier_window, "medianMiB": round(rss.earlier, 1)},
            "lastThirdMaxMiB": round(rss.last_third_max, 1),
            "maxMiB": round(rss.peak, 1),
            "boundMiB": round(rss.bound, 1),
            "slackMiB": report.slack_parts,
            "samples": len(samples),
            "series": _series(report),
        },
        "records": {
            "dropped": dropped,
            "droppedBytes": sum(_records(h).get("droppedBytes", 0) for h in report.health.values()),
            "perIncarnation": {n: _records(h) for n, h in report.health.items()},
            "afterRestart": _records(report.health_after),
        },
        "writes": {
            "checked": report.final.checked,
            "missing": len(report.final.problems),
            "droppedByBudget": report.final.missing_by_budget,
            "droppedOutOfOrder": out_of_order,
        },
        "kill": {
            "atS": round(report.kill_at, 1),
            "restartS": round(report.starts[1], 2) if len(report.starts) > 1 else None,
            "saveGapMs": {
                "count": len(gaps),
                "p50": round(statistics.median(gaps) * 1000) if gaps else None,
                "max": round(gaps[-1] * 1000) if gaps else None,
            },
            "windowS": round(report.window, 3),
            "slackS": round(report.window - 0.5, 3),
            "checked": report.at_kill.checked,
            "lostWrites": len(lost),
            "oldestLostS": round(max(lost), 3) if lost else None,
            "problems": len(report.at_kill.problems),
        },
        "serverLog": [line for log in report.logs for line in log.splitlines()][-30:],
        "health": {"last": report.health.get(max(report.health, default=0), {})},
    }
    return result


def _series(report: Report, points: int = 40) -> list[list[float]]:
    """(seconds into the load, incarnation, MiB), thinned to about ``points``."""
    inside = [s for s in report.rss_samples if s[0] >= report.load_start]
    step = max(1, len(inside) // points)
    return [
        [round(at - report.load_start, 1), incarnation, round(mib, 1)]
        for at, incarnation, mib in inside[::step]
    ]


def _spread(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50": round(ordered[len(ordered) // 2] * 1000, 1),
        "p99": round(ordered[int(len(ordered) * 0.99)] * 1000, 1),
        "max": round(ordered[-1] * 1000, 1),
    }


def human_line(result: dict[str, Any]) -> str:
    rss, kill, writes = result["rss"], result["kill"], result["writes"]
    verdict = "PASS" if result["passed"] else "FAIL: " + "; ".join(result["reasons"][:5])
    return (
        f"soak {result['durationS']:.0f}s: {result['requests']} requests, "
        f"{sum(result['injectedFaults'].values())} injected faults, "
        f"{sum(result['boundsAnswered'].values())} bounds answered, "
        f"RSS {rss['baselineMiB']}→{rss['plateauMiB']} MiB (max {rss['maxMiB']}, bound "
        f"{rss['boundMiB']}), {result['records']['dropped']} records dropped, "
        f"{writes['checked']} writes checked ({writes['missing']} missing, "
        f"{writes['droppedByBudget']} dropped by the budget), kill: {kill['lostWrites']} lost "
        f"(oldest {kill['oldestLostS']} s, window {kill['windowS']} s) — {verdict}"
    )
