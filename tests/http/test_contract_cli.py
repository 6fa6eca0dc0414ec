"""`trigger-mock contract`: arguments, a run against a fake it starts, and against a URL
that is not trigger-mock (where what cannot run skips, and says why)."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from mock_server.testing import free_port
from tests.support import wait_until_answering

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


def test_a_run_against_a_fake_it_starts(tmp_path: Path) -> None:
    result = run_contract(
        tmp_path,
        "--fidelity",
        "deployed",
        "--junit-xml",
        "out.xml",
        "--",
        "-k",
        "wire_order or empty_body",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "target serve-deployed: 2 rules passed, 0 failed, 0 skipped" in result.stdout
    assert "difference: Close with an empty body -> deployed" in result.stdout
    cases = ET.parse(tmp_path / "out.xml").getroot().iter("testcase")
    assert {case.get("name", "").split("[")[0] for case in cases} == {
        "test_create_returns_201_with_the_row_in_wire_order",
        "test_close_with_an_empty_body",
    }


@pytest.fixture
def not_trigger_mock(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_on_another_target_what_cannot_run_skips_and_says_why(
    tmp_path: Path, not_trigger_mock: str
) -> None:
    selection = "reusing_an_expired or environments_have_their_own or linked_operations"
    with_key = run_contract(
        tmp_path,
        "--base-url",
        not_trigger_mock,
        "--secret-key",
        "tr_dev_k",
        "--allow-writes",
        "--",
        "-k",
        selection,
    )
    assert with_key.returncode == 0, with_key.stdout
    assert "3 skipped" in with_key.stdout
    assert f"needs the fake's /_mock/ control plane; {not_trigger_mock} is not trigger-mock" in (
        with_key.stdout
    )
    assert "needs a second environment" in with_key.stdout
    assert "pass --dedicated-environment" in with_key.stdout
    no_writes = run_contract(
        tmp_path,
        "--base-url",
        not_trigger_mock,
        "--secret-key",
        "tr_dev_k",
        "--",
        "-k",
        "a_public_token_creating",
    )
    assert "1 skipped" in no_writes.stdout and "pass --allow-writes" in no_writes.stdout
    without_key = run_contract(tmp_path, "--base-url", not_trigger_mock, "--", "-k", "missing_cred")
    assert "no secret key" in without_key.stdout


def test_an_unreachable_target_ends_the_run_with_a_clear_message(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run_contract(tmp_path, "--base-url", url, "--secret-key", "tr_dev_k", "--", "-x")
    assert result.returncode == 2
    assert f"cannot reach the contract target {url}" in result.stdout + result.stderr
