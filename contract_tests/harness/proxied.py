"""``--contract-through-proxy``: the suite talks to its target through ``trigger-mock
proxy``, which checks every exchange against the contract as it passes. Before the proxy
stops, its summary and violations are read back; the run reports them after its own
results, writes them beside the JUnit XML, and fails if the proxy saw any violation.

The proxy expects the target's own mode when the target is the fake (it knows its mode),
and either reading of each docs-vs-deployed difference otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import orjson
import pytest

from mock_server.server.proxy_command import summary_lines
from mock_server.testing import MockProxy

SHOWN: Final = 20
"""How many violations the terminal lists per target (the files hold them all)."""
MESSAGE_CHARS: Final = 300


@dataclass
class ProxyFindings:
    """What one proxy saw in front of one target."""

    target: str
    expect: str
    summary: dict[str, Any] = field(default_factory=dict)
    violations: list[dict[str, Any]] = field(default_factory=list)
    """Oldest first."""
    error: str | None = None
    """Why the proxy could not be read back, if it could not."""

    @property
    def total(self) -> int:
        return int(self.summary.get("violations", 0))

    @property
    def clean(self) -> bool:
        return self.error is None and self.total == 0


@dataclass
class Proxies:
    """The proxies a run started, and what each one saw once it was read back."""

    running: list[tuple[str, str, MockProxy]] = field(default_factory=list)
    findings: list[ProxyFindings] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    """The files the findings went to (beside the JUnit XML, when there is one)."""

    def start(self, target: str, upstream: str, fidelity: str | None) -> MockProxy:
        """A proxy in front of ``upstream``, expecting ``fidelity`` (else either mode)."""
        expect = fidelity if fidelity in ("documented", "deployed") else "either"
        proxy = MockProxy(upstream, "--expect", expect)
        self.running.append((target, expect, proxy))
        proxy.start()
        return proxy

    def stop(self, junit_xml: Path | None = None) -> None:
        """Read each proxy back, then stop it; with ``junit_xml``, write what they found
        beside it (:func:`write_beside`)."""
        for target, expect, proxy in self.running:
            found = ProxyFindings(target, expect)
            try:
                found.summary = proxy.summary()
                found.violations = proxy.violations()
            except (AssertionError, OSError, ValueError) as exc:
                found.error = f"{type(exc).__name__}: {exc}"
            self.findings.append(found)
            proxy.stop()
        self.running.clear()
        if junit_xml is not None and self.findings:
            self.written = write_beside(junit_xml, self)

    @property
    def clean(self) -> bool:
        return all(found.clean for found in self.findings)


PROXIES = pytest.StashKey[Proxies]()


def violation_line(violation: dict[str, Any]) -> str:
    message = str(violation["message"])
    if len(message) > MESSAGE_CHARS:
        message = message[: MESSAGE_CHARS - 1] + "…"
    return (
        f"{violation['method']} {violation['path']} -> {violation['status']}"
        f"  [{violation['rule']}] {message}"
    )


def lines(proxies: Proxies, shown: int = SHOWN) -> list[str]:
    """The terminal's account of every proxy: its counts, rules and first violations."""
    out: list[str] = []
    for found in proxies.findings:
        out.append(f"proxy in front of {found.target} (expecting {found.expect}):")
        if found.error is not None:
            out.append(f"  could not read the proxy's findings: {found.error}")
            continue
        out += ["  " + line for line in summary_lines({**found.summary, "fidelity": []})]
        listed = found.violations[:shown]
        if listed:
            some = len(listed) < found.total
            head = f"the first {len(listed)} of {found.total} violations" if some else "violations"
            out.append(f"  {head}, oldest first:")
            out += ["    " + violation_line(v) for v in listed]
            if len(found.violations) < found.total:
                dropped = found.total - len(found.violations)
                out.append(f"  ({dropped} older ones dropped out of the proxy's list)")
    if proxies.written:
        out.append("written to " + ", ".join(str(path) for path in proxies.written))
    return out


def write_beside(junit_xml: Path, proxies: Proxies) -> list[Path]:
    """``NAME.proxy.json`` (each proxy's summary) and ``NAME.violations.jsonl`` (every
    violation, one JSON object a line, with its target) beside ``NAME.xml``."""
    stem = junit_xml.with_suffix("")
    summary_path = stem.with_name(stem.name + ".proxy.json")
    violations_path = stem.with_name(stem.name + ".violations.jsonl")
    summaries = [
        {"target": f.target, "expect": f.expect, "error": f.error, **f.summary}
        for f in proxies.findings
    ]
    summary_path.write_bytes(orjson.dumps(summaries, option=orjson.OPT_INDENT_2) + b"\n")
    violations_path.write_bytes(
        b"".join(
            orjson.dumps({"target": f.target, **v}) + b"\n"
            for f in proxies.findings
            for v in f.violations
        )
    )
    return [summary_path, violations_path]
