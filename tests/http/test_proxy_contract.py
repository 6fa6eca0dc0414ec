"""``trigger-mock contract --through-proxy``: the whole contract suite through the validating
proxy in front of the fake, in each mode with the proxy expecting it. The suite passes and
the proxy finds no violation: every one it found would be a false positive of its checks,
or a departure of the fake from its own contract. Schemathesis runs 10 examples per
operation here (the suite's default is 50), which keeps each run near half a minute."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.subprocess


def run_contract(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mock_server", "contract", *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )


@pytest.mark.parametrize("fidelity", ["documented", "deployed"])
def test_the_suite_through_the_proxy_finds_no_violation(tmp_path: Path, fidelity: str) -> None:
    result = run_contract(
        tmp_path,
        "--through-proxy",
        "--fidelity",
        fidelity,
        "--examples",
        "10",
        "--junit-xml",
        "contract.xml",
    )
    shown = result.stdout[-12000:] + result.stderr[-2000:]
    assert result.returncode == 0, shown
    assert f"target serve-{fidelity}: " in result.stdout
    assert " 0 failed, 0 skipped" in result.stdout, shown
    assert f"proxy in front of serve-{fidelity} (expecting {fidelity}):" in result.stdout
    assert " 0 violation(s) in 0;" in result.stdout, shown
    [summary] = json.loads((tmp_path / "contract.proxy.json").read_text())
    assert summary["target"] == f"serve-{fidelity}" and summary["expect"] == fidelity
    assert summary["violations"] == 0 and summary["exchanges"] > 1000
    assert (tmp_path / "contract.violations.jsonl").read_text() == ""


def test_an_in_process_target_cannot_go_through_a_proxy(tmp_path: Path) -> None:
    result = run_contract(
        tmp_path, "--through-proxy", "--", "--contract-target", "inprocess:documented"
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "an in-process target has no address" in result.stderr
