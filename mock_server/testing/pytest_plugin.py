"""pytest fixtures for projects that test against the fake; installing trigger-mock
registers them (entry point ``pytest11``).

- ``trigger_mock_server`` (session): one ``trigger-mock serve`` process for the run.
  ``TRIGGER_MOCK_*`` variables configure it, as they do the CLI.
- ``trigger_mock`` (function): that server, reset before the test, with a secret key of
  the test's own; ``TRIGGER_API_URL`` and ``TRIGGER_SECRET_KEY`` point at it while the
  test runs, for code under test that reads them (the SDK does).
- ``trigger_mock_proxy`` (function): a factory, ``trigger_mock_proxy(upstream=None,
  *args)``, giving a started :class:`MockProxy` in front of ``upstream`` (default: the
  ``trigger_mock_server`` fake), its violations cleared. Proxies are kept for the run, one
  per upstream and arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from . import MockProxy, MockServer, TriggerMock


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


ProxyFactory = Callable[..., MockProxy]


@pytest.fixture(scope="session")
def _trigger_mock_proxies() -> Iterator[dict[tuple[str, ...], MockProxy]]:
    started: dict[tuple[str, ...], MockProxy] = {}
    yield started
    for proxy in started.values():
        proxy.stop()


@pytest.fixture
def trigger_mock_proxy(
    request: pytest.FixtureRequest, _trigger_mock_proxies: dict[tuple[str, ...], MockProxy]
) -> ProxyFactory:
    def start(upstream: str | None = None, *args: str) -> MockProxy:
        if upstream is None:
            upstream = request.getfixturevalue("trigger_mock_server").base_url
        key = (upstream, *args)
        proxy = _trigger_mock_proxies.get(key)
        if proxy is None:
            proxy = _trigger_mock_proxies[key] = MockProxy(upstream, *args).start()
        proxy.clear_violations()
        return proxy

    return start
