"""How ``MockServer`` composes its command line (nothing is started here): its own
defaults give way to the caller's options and to ``TRIGGER_MOCK_*`` variables, as the
fixture's documentation promises."""

from __future__ import annotations

import pytest

from mock_server.testing import MockServer


def options(server: MockServer) -> list[str]:
    return server.command[server.command.index("serve") + 1 :]


def test_a_free_port_and_warnings_only_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRIGGER_MOCK_LOG_LEVEL", raising=False)
    server = MockServer("--agent", "echo")
    assert options(server) == [
        "--port", str(server.port), "--log-level", "warning", "--agent", "echo",
    ]  # fmt: skip
    assert server.base_url == f"http://127.0.0.1:{server.port}"
    assert server.name == "trigger-mock serve"


def test_the_callers_options_and_variables_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIGGER_MOCK_LOG_LEVEL", "debug")
    given = options(MockServer("--log-level", "error"))
    assert given[2:] == ["--log-level", "error"]
    monkeypatch.delenv("TRIGGER_MOCK_LOG_LEVEL")
    from_env = options(MockServer(env={"TRIGGER_MOCK_LOG_LEVEL": "info"}))
    assert "--log-level" not in from_env
