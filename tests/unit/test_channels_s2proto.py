"""Channels in memory, and S2's binary forms."""

from __future__ import annotations

import asyncio

import pytest

from mock_server.channels.errors import RecordTooLarge, S2SeqMismatch
from mock_server.channels.records import StreamKey, metered_bytes
from mock_server.channels.streams import BATCH_MAX_RECORDS, ChannelStore
from mock_server.core.clock import ControllableClock
from mock_server.s2.names import header_value, parse_stream_name, stream_name
from mock_server.s2.proto import (
    TERMINAL,
    FrameReader,
    ProtoError,
    _message,
    _varint,
    decode_append_input,
    encode_append_ack,
    frame,
)

ENV = "cenv"
OUT = StreamKey("chat", "out")


def store() -> ChannelStore:
    return ChannelStore(ControllableClock(lambda: 1_000_000))


def test_part_ids_dedupe_within_the_window_only() -> None:
    clock = ControllableClock(lambda: 0)
    channels = ChannelStore(clock, dedupe_window_ms=1000)
    assert channels.append(ENV, OUT, [((), "a")], part_id="p") is not None
    assert channels.append(ENV, OUT, [((), "b")], part_id="p") is None
    clock.advance(1)
    added = channels.append(ENV, OUT, [((), "c")], part_id="p")
    assert added is not None and added[0].seq_num == 1


def test_a_too_large_record_appends_nothing_of_its_batch() -> None:
    channels = store()
    with pytest.raises(RecordTooLarge):
        channels.append(ENV, OUT, [((), "ok"), ((), "x" * (1 << 20))])
    assert channels.channel(ENV, OUT).records == []
    assert metered_bytes((("ab", "c"),), "xyz") == 8 + 2 + 3 + 3


def test_trim_drops_older_records_and_readers_resume_from_what_is_left() -> None:
    channels = store()
    channels.append(ENV, OUT, [((), str(n)) for n in range(5)])
    channels.append(ENV, OUT, [((("", "trim"),), "3")])
    channel = channels.channel(ENV, OUT)
    assert [r.seq_num for r in channel.records] == [3, 4, 5]
    assert [r.seq_num for r in channel.read(0)] == [3, 4, 5]


def test_match_seq_num_must_be_the_tail() -> None:
    channels = store()
    channels.append(ENV, OUT, [((), "a")], match_seq_num=0)
    with pytest.raises(S2SeqMismatch):
        channels.append(ENV, OUT, [((), "b")], match_seq_num=0)


def test_a_batch_is_bounded_so_a_reader_takes_the_backlog_in_steps() -> None:
    channels = store()
    channels.append(ENV, OUT, [((), "r") for _ in range(BATCH_MAX_RECORDS + 5)])
    channel = channels.channel(ENV, OUT)
    assert len(channel.read(0)) == BATCH_MAX_RECORDS
    assert len(channel.read(BATCH_MAX_RECORDS)) == 5


@pytest.mark.anyio
async def test_waiting_readers_wake_on_append_and_leave_no_waiter_behind() -> None:
    channels = store()
    channel = channels.channel(ENV, OUT)
    waits = [asyncio.create_task(channels.wait(channel, 0, 5)) for _ in range(50)]
    await asyncio.sleep(0)
    assert channels.waiting_readers(ENV, OUT) == 50
    channels.append(ENV, OUT, [((), "x")])
    assert await asyncio.gather(*waits) == [True] * 50
    assert await channels.wait(channel, 1, 0.01) is False
    assert channels.waiting_readers(ENV, OUT) == 0


def test_stream_names_round_trip_whatever_the_key_holds() -> None:
    for key in (StreamKey("a/b:c", "in"), StreamKey("x", "out", "screens.v1")):
        assert parse_stream_name(stream_name(key)) == key
    assert parse_stream_name("/sessions/x/sideways") is None


@pytest.mark.parametrize(
    "key",
    [
        StreamKey("a/b:c", "in"),
        StreamKey("chat/é 1", "out"),
        StreamKey("中/文", "out", "screens.v1"),
        StreamKey("a%2Fb", "in"),
    ],
)
def test_raw_stream_names_as_deployed_round_trip(key: StreamKey) -> None:
    name = stream_name(key, raw=True)
    assert (
        name
        == "/sessions/"
        + key.key
        + (f"/channels/{key.channel}" if key.channel else "")
        + f"/{key.io}"
    )
    assert parse_stream_name(name, raw=True) == key
    # as a client reads it back from the header (Latin-1), then sends it
    read_back = header_value(name).encode("latin-1").decode("latin-1")
    assert parse_stream_name(read_back, raw=True) == key
    header_value(name).encode("latin-1")  # always fit for a header


def test_raw_names_that_are_not_session_streams() -> None:
    for name in ("/sessions/x/sideways", "/runs/r/out", "/sessions//out", "sessions/x/in"):
        assert parse_stream_name(name, raw=True) is None
    # A key no header could carry raw is handed out encoded, and read back whole.
    control = StreamKey("a\x1fb/c", "in")
    assert stream_name(control, raw=True) == "/sessions/a%1Fb%2Fc/in"
    assert parse_stream_name(stream_name(control, raw=True), raw=True) == control
    # Raw names are ambiguous where the deployed ones are too: this key's .out and key
    # "x"'s side channel "y" share one S2 stream name.
    clash = stream_name(StreamKey("x/channels/y", "out"), raw=True)
    assert parse_stream_name(clash, raw=True) == StreamKey("x", "out", "y")


def _record(body: bytes, headers: list[tuple[bytes, bytes]] = ()) -> bytes:  # type: ignore[assignment]
    encoded = b"".join(_message(2, _message(1, k) + _message(2, v)) for k, v in headers)
    return _message(1, encoded + _message(3, body))


def test_append_input_decodes_records_headers_and_match() -> None:
    payload = _record(b'{"data":1}') + _record(b"", [(b"", b"trim")]) + _varint(2 << 3) + _varint(7)
    decoded = decode_append_input(payload)
    assert [r.body for r in decoded.records] == [b'{"data":1}', b""]
    assert decoded.records[1].headers == ((b"", b"trim"),)
    assert decoded.match_seq_num == 7
    with pytest.raises(ProtoError):
        decode_append_input(_record(b"abc")[:-1])


def test_frames_are_cut_from_pieces_and_acks_encode_positions() -> None:
    reader = FrameReader()
    stream = frame(b"one") + frame(b"two", TERMINAL)
    assert reader.feed(stream[:5]) == []
    assert reader.feed(stream[5:]) == [(0, b"one"), (TERMINAL, b"two")]
    assert not reader.pending
    ack = encode_append_ack((1, 9), (3, 9), (3, 9))
    assert ack == _message(1, b"\x08\x01\x10\x09") + _message(2, b"\x08\x03\x10\x09") + _message(
        3, b"\x08\x03\x10\x09"
    )
