"""Smaller bounds on what clients can make the fake keep: the echo agent's reply, the
strings sessions share, S2's own bounds on one append."""

from __future__ import annotations

import pytest

from mock_server.core.clock import ControllableClock


def test_s2_refuses_an_append_metering_over_1_mib_together() -> None:
    from mock_server.channels.errors import S2BadRequest
    from mock_server.channels.records import check_append

    check_append([((), "y" * 500_000), ((), "y" * 500_000)])  # 1,000,016 bytes: fine
    with pytest.raises(S2BadRequest, match="at most 1048576"):
        check_append([((), "y" * 600_000), ((), "y" * 500_000)])
    with pytest.raises(S2BadRequest, match="1000 records"):
        check_append([((), "")] * 1001)


def test_the_echo_agent_repeats_at_most_4096_characters() -> None:
    from mock_server.channels.agent import ECHO_MAX_CHARS, Script

    reply = Script().reply("w " * 100_000)
    assert reply.text is not None and len(reply.text) <= ECHO_MAX_CHARS + 10
    assert Script().reply("short").text == "echo: short"


def test_shared_strings_stop_growing_past_their_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    from mock_server.core.ids import IdSource
    from mock_server.sessions import store as store_module
    from mock_server.sessions.requests import NewSession
    from mock_server.sessions.store import SessionStore

    monkeypatch.setattr(store_module, "MAX_SHARED_STRINGS", 5)
    clock = ControllableClock(lambda: 1_000_000_000_000)
    sessions = SessionStore(clock, IdSource(clock, 1))
    for n in range(20):
        new = NewSession("chat", "task", {"basePayload": {}}, tags=[f"tag-{n}"])
        made = sessions.create("env", new).session
        assert made.tags == (f"tag-{n}",)
    assert len(sessions._strings) == 5
