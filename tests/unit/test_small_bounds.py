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


def test_a_stream_only_readers_touched_goes_when_the_last_one_leaves() -> None:
    channels, _ = store(budget=10**9)
    for n in range(100):  # readers of made-up keys
        stream = channels.channel(ENV, StreamKey(f"nobody-{n}", "out"))
        channels.reader_joined(1, stream)
        channels.reader_joined(-1, stream)
    assert channels.streams(ENV) == {} and channels.meter.streams == 0
    assert channels.meter.bytes == 0
    written = channels.channel(ENV, A)
    channels.append(ENV, A, [((), "x")])
    channels.reader_joined(1, written)
    channels.reader_joined(-1, written)
    assert channels.peek(ENV, A) is written  # a stream with a past is kept


def test_part_ids_cost_the_same_whatever_their_length_and_go_after_their_window() -> None:
    channels, clock = store(budget=10**9)
    channels.append(ENV, A, [((), "x")], part_id="p" * 60_000)
    assert channels.append(ENV, A, [((), "x")], part_id="p" * 60_000) is None  # deduped
    channels.append(ENV, A, [((), "x")], part_id="short")
    with_parts = channels.meter.bytes
    assert channels.meter.part_ids == 2
    clock.advance(6 * 60)  # past the 5-minute window
    channels.append(ENV, A, [((), "x")])
    channels.channel(ENV, A).forget_parts(clock.now_ms())
    assert channels.meter.part_ids == 0
    assert channels.meter.bytes < with_parts + cost(body="x")


def test_over_the_budget_with_no_record_left_idle_streams_go() -> None:
    channels, _ = store(budget=20 * STREAM_COST)
    for n in range(40):  # S2 appends to made-up stream names, each dropped by the next
        channels.append(ENV, StreamKey(f"made-up-{n}", "out"), [((), "x")])
    assert channels.meter.streams < 40 and channels.meter.bytes <= 21 * STREAM_COST + cost()


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
        assert made.tags == [f"tag-{n}"]
    assert len(sessions._strings) == 5
