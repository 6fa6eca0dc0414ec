"""The official Node SDK (pinned in ``tests/sdk/package.json``) against a served fake
with the echo agent, in both fidelity modes: the Sessions calls, the channels, failures
on demand, and one chat turn through the SDK's browser chat transport. ``make test``
installs it from ``package-lock.json``."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mock_server.testing import MockServer

SDK_TESTS = Path(__file__).parent
RESTRICTED_KEY = "tr_dev_sk_sdkTests0123456789abcdef"
RESTRICTED_SCOPES = "write:tasks:chat-task,read:sessions"


def echo_fake_for(fidelity: str) -> MockServer:
    """The fake the SDK tests run against (not started)."""
    return MockServer(
        "--agent",
        "echo",
        "--validate-responses",
        "--log-level",
        "warning",
        "--fidelity",
        fidelity,
        # Only a restricted key is declared, so any other key is still accepted.
        "--secret-key",
        f"{RESTRICTED_KEY}={RESTRICTED_SCOPES}",
    )


def run_sdk_tests(base_url: str, *files: str) -> None:
    """Run the SDK test ``files`` (default: all) against ``base_url``; fail with their
    output if one fails."""
    node = shutil.which("node")
    assert node, "Node.js 20+ is needed for the SDK tests"
    assert (SDK_TESTS / "node_modules" / "@trigger.dev" / "sdk").is_dir(), (
        "the SDK is not installed: `make test` installs it (npm ci --prefix tests/sdk)"
    )
    result = subprocess.run(
        [node, "--test", "--test-concurrency=1", "--test-reporter=tap", *files],
        cwd=SDK_TESTS,
        env={
            "TRIGGER_API_URL": base_url,
            "TRIGGER_MOCK_RESTRICTED_KEY": RESTRICTED_KEY,
            "PATH": os.environ.get("PATH", ""),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout


@pytest.fixture(scope="module", params=["documented", "deployed"])
def echo_fake(request: pytest.FixtureRequest) -> Iterator[MockServer]:
    with echo_fake_for(request.param) as fake:
        yield fake


def test_the_official_sdk_works_against_the_fake(echo_fake: MockServer) -> None:
    run_sdk_tests(echo_fake.base_url)
