"""The contract suite on a target it cannot see into (the fake behind a proxy hiding the
control plane): it runs what it may, and closes every session it created."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from contract_tests.harness.targets import served_fake
from mock_server.testing import free_port
from tests.support import ROOT, wait_until_answering

pytestmark = pytest.mark.subprocess
KEY = "tr_dev_realishcontract0001"


@pytest.fixture
def realish() -> Iterator[tuple[str, str]]:
    """(URL of the proxy, URL of the fake behind it)."""
    fake = served_fake("documented")
    fake.start()
    port = free_port()
    proxy = subprocess.Popen(
        [sys.executable, "-m", "tests.http.realish", fake.base_url, str(port)], cwd=ROOT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/api/v1/sessions")
        yield url, fake.base_url
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
        fake.stop()


def test_on_a_real_target_the_suite_cleans_up_after_itself(
    tmp_path: Path, realish: tuple[str, str]
) -> None:
    url, behind = realish
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mock_server",
            "contract",
            "--base-url",
            url,
            "--secret-key",
            KEY,
            "--allow-writes",
            "--dedicated-environment",
            "--examples",
            "5",
            "--",
            "-k",
            "test_create or test_close or linked_operations or every_operation",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"target {url}:" in result.stdout
    assert "needs the fake's /_mock/ control plane" in result.stdout
    dump = httpx.get(f"{behind}/_mock/sessions", params={"environment": KEY}).json()
    [environment] = dump["environments"]
    sessions = environment["sessions"]
    assert len(sessions) > 20
    still_open = [s["id"] for s in sessions if s["closedAt"] is None]
    assert still_open == []
    run_tags = {t for s in sessions for t in s["triggerConfig"].get("tags", []) if "contract" in t}
    assert len(run_tags) == 1
