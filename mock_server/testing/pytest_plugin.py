"""pytest fixtures for projects that test against the fake; installing trigger-mock
registers them (entry point ``pytest11``).

- ``trigger_mock_server`` (session): one ``trigger-mock serve`` process for the run.
  ``TRIGGER_MOCK_*`` variables configure it, as they do the CLI.
- ``trigger_mock`` (function): that server, reset before the test, with a secret key of
  the test's own; ``TRIGGER_API_URL`` and ``TRIGGER_SECRET_KEY`` point at it while the
  test runs, for code under test that reads them (the SDK does).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from . import MockServer, TriggerMock


@pytest.fixture(scope="session")
def trigger_mock_server() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


@pytest.fixture
def trigger_mock(trigger_mock_server: MockServer, monkeypatch: pytest.MonkeyPatch) -> TriggerMock:
    mock = trigger_mock_server.handle()
    mock.reset()
    monkeypatch.setenv("TRIGGER_API_URL", mock.base_url)
    monkeypatch.setenv("TRIGGER_SECRET_KEY", mock.secret_key)
    return mock
