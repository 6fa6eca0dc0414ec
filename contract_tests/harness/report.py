"""The end-of-run summary: every rule's result per target, and which reading of each
docs-vs-deployed difference the target showed."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from mock_server.core.fidelity import DIFFERENCES, topic_of


def rule_text(test_name: str) -> str:
    """``test_reusing_a_closed_external_id_returns_409[serve-documented]`` → the rule."""
    bare = re.sub(r"\[.*\]$", "", test_name).removeprefix("test_")
    return bare.replace("_", " ")


@dataclass
class TargetReport:
    rules: dict[str, str] = field(default_factory=dict)  # rule → passed / failed / skipped: why
    readings: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    lane_answered: int = 0
    """In-process targets: API requests the fast lane answered (the rest: Connexion)."""
    requests: int = 0
    """In-process targets: API requests the app answered."""

    def verdict(self) -> str:
        """Which mode the observed differences fit."""
        seen = len(self.readings)
        fits = {
            mode: all(mode in readings for readings in self.readings.values())
            for mode in ("documented", "deployed")
        }
        of = f"in the {seen} of {len(DIFFERENCES)} docs-vs-deployed differences observed"
        if not seen:
            return "no docs-vs-deployed difference was observed"
        if fits["documented"] and fits["deployed"]:
            return f"consistent with both modes {of}"
        if fits["documented"]:
            return f"behaves as documented {of}"
        if fits["deployed"]:
            return f"behaves like the deployed server {of}"
        return f"mixed: some as documented, some as deployed, {of}"


@dataclass
class Report:
    targets: dict[str, TargetReport] = field(default_factory=lambda: defaultdict(TargetReport))

    def outcome(self, target: str, test_name: str, outcome: str) -> None:
        rules = self.targets[target].rules
        previous = rules.get(rule_text(test_name), "")
        if not previous.startswith("failed"):  # a failure in any parametrisation sticks
            rules[rule_text(test_name)] = outcome

    def observe(self, target: str, row: str, documented: bool, deployed: bool) -> None:
        readings = self.targets[target].readings[row]
        if documented:
            readings.add("documented")
        if deployed:
            readings.add("deployed")
        if not (documented or deployed):
            readings.add("neither")

    def lane(self, target: str, answered: int, requests: int) -> None:
        report = self.targets[target]
        report.lane_answered += answered
        report.requests += requests

    def lines(self, *, every_rule: bool) -> list[str]:
        out: list[str] = []
        for target, report in sorted(self.targets.items()):
            results = list(report.rules.values())
            passed = sum(r == "passed" for r in results)
            failed = [rule for rule, r in report.rules.items() if r.startswith("failed")]
            skipped = {rule: r for rule, r in report.rules.items() if r.startswith("skipped")}
            out.append(
                f"target {target}: {passed} rules passed, {len(failed)} failed, "
                f"{len(skipped)} skipped; {report.verdict()}"
            )
            if report.requests:
                out.append(
                    f"  the fast lane answered {report.lane_answered:,} of its "
                    f"{report.requests:,} API requests; Connexion the rest"
                )
            shown = (
                report.rules.items()
                if every_rule
                else [(rule, report.rules[rule]) for rule in failed] + list(skipped.items())
            )
            for rule, result in shown:
                outcome, _, why = result.partition(": ")
                out.append(f"  {outcome:<8} {rule}" + (f"  ({why})" if why else ""))
            if every_rule or "mixed" in report.verdict():
                for row, seen in sorted(report.readings.items()):
                    reading = " and ".join(sorted(seen)) if seen else "nothing"
                    out.append(f"  difference: {topic_of(row)} -> {reading}")
        return out
