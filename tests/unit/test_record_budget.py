"""The memory budget for channel records: oldest first across streams, counted the same
way on every path a record comes in or goes out by."""

from __future__ import annotations

import pytest

from mock_server.channels.budget import HEADER_COST, RECORD_COST, STREAM_COST, charged_bytes
from mock_server.channels.records import TRIM_COMMAND, Record, StreamKey
from mock_server.channels.retention import RETENTION_MS
from mock_server.channels.streams import ChannelStore
from mock_server.core.clock import ControllableClock
from mock_server.core.limits import Limits

ENV = "env_budget"
A = StreamKey("a", "out")
B = StreamKey("b", "out")
BODY = "x" * 1000


def store(budget: int) -> tuple[ChannelStore, ControllableClock]:
    clock = ControllableClock(lambda: 1_000_000_000_000)
    return ChannelStore(clock, limits=Limits(max_record_bytes=budget)), clock


def cost(seq: int = 0, body: str = BODY) -> int:
    return Record.make(seq, 1_000_000_000_000, (), body).charge


STREAM = STREAM_COST + 1  # what stream "a" or "b" costs with no record


def kept(channels: ChannelStore, key: StreamKey) -> list[int]:
    found = channels.peek(ENV, key)
    return [] if found is None else [r.seq_num for r in found.records]


def test_a_record_counts_its_json_and_its_bookkeeping() -> None:
    record = Record.make(7, 1, (("trigger-control", "turn-complete"),), BODY)
    assert record.charge == len(record.wire) + RECORD_COST + HEADER_COST
    assert record.charge == charged_bytes(record.wire, record.headers)
    assert len(record.wire) > len(BODY)  # never less than the body S2 meters


def test_the_oldest_records_across_streams_go_first() -> None:
    channels, clock = store(budget=5 * cost() + 2 * STREAM)
    for _ in range(3):  # a0 b0 a1 b1 a2 b2, in that order
        channels.append(ENV, A, [((), BODY)])
        clock.advance(1)
        channels.append(ENV, B, [((), BODY)])
        clock.advance(1)
    meter = channels.meter
    assert (kept(channels, A), kept(channels, B)) == ([1, 2], [0, 1, 2])  # a0 went
    channels.append(ENV, B, [((), BODY)])
    assert (kept(channels, A), kept(channels, B)) == ([1, 2], [1, 2, 3])  # then b0
    assert meter.records == 5 and meter.bytes == 2 * STREAM + sum(
        r.charge for key in (A, B) for r in channels.channel(ENV, key).records
    )
    assert meter.bytes <= channels.limits.max_record_bytes
    assert (meter.dropped_records, meter.dropped_bytes) == (2, 2 * cost())
    assert meter.trimming_since == 1_000_000_000_000 + 1000 * 5
    # Numbering carries on, and a reader asking for a dropped position starts at the oldest kept.
    assert channels.channel(ENV, A).tail == 3
    assert [r.seq_num for r in channels.read(channels.channel(ENV, A), 0)] == [1, 2]


def test_the_append_that_crosses_the_budget_is_kept_whatever_its_size() -> None:
    channels, _ = store(budget=cost() // 2)
    channels.append(ENV, A, [((), BODY)])
    assert kept(channels, A) == [0]  # over the budget by this one append only
    channels.append(ENV, B, [((), BODY), ((), BODY)])
    assert (kept(channels, A), kept(channels, B)) == ([], [0, 1])
    assert channels.meter.dropped_records == 1


def test_a_stream_emptied_by_the_budget_keeps_its_tail() -> None:
    channels, _ = store(budget=2 * cost() + 2 * STREAM)
    channels.append(ENV, A, [((), BODY)] * 2)
    channels.append(ENV, B, [((), BODY)] * 2)
    emptied = channels.channel(ENV, A)
    assert emptied.records == [] and emptied.tail == 2
    channels.append(ENV, A, [((), BODY)])
    assert kept(channels, A) == [2]


def test_every_way_out_is_counted() -> None:
    channels, clock = store(budget=10**9)
    channels.append(ENV, A, [((), BODY)] * 4)
    channels.append(ENV, A, [(TRIM_COMMAND, "2")])  # S2 trim: records 0 and 1 go
    assert channels.meter.records == 3
    clock.advance(RETENTION_MS // 1000 + 1)
    channels.channel(ENV, B)  # any touch; aged records go when their stream is touched
    channels.expire()
    assert (channels.meter.records, channels.meter.bytes) == (0, 2 * STREAM)  # empty streams
    assert channels.meter.dropped_records == 0  # none of that was the budget
    channels.append(ENV, A, [((), BODY)])
    channels.append(ENV, B, [((), BODY)])
    channels.reset(ENV)
    assert (channels.meter.records, channels.meter.bytes) == (0, 0)


def test_a_full_reset_starts_the_count_again() -> None:
    channels, _ = store(budget=cost())
    channels.append(ENV, A, [((), BODY)] * 3)
    channels.append(ENV, A, [((), BODY)])
    assert channels.meter.trimming_since is not None
    channels.reset()
    meter = channels.meter
    assert (meter.bytes, meter.records, meter.dropped_records, meter.trimming_since) == (
        0,
        0,
        0,
        None,
    )


def test_lowering_the_budget_drops_at_once_even_the_newest() -> None:
    channels, _ = store(budget=10**9)
    channels.append(ENV, A, [((), BODY)] * 3)
    channels.limits.max_record_bytes = 1
    channels.fit_budget()
    # The records went, and then the stream itself: nothing else was left to let go of.
    assert channels.peek(ENV, A) is None and channels.meter.bytes == 0
    assert channels.meter.dropped_records == 3


def test_records_put_back_from_a_file_are_ordered_by_age_before_the_budget_applies() -> None:
    channels, _ = store(budget=2 * cost() + 2 * STREAM)
    young, old = 1_000_000_002_000, 1_000_000_001_000
    channels.restore(ENV, A, [Record.make(0, young, (), BODY), Record.make(1, young + 1, (), BODY)])
    channels.restore(ENV, B, [Record.make(0, old, (), BODY), Record.make(1, young + 2, (), BODY)])
    channels.restored()
    assert (kept(channels, A), kept(channels, B)) == ([1], [1])  # b0 (oldest), then a0


def test_the_append_order_does_not_grow_with_records_already_gone() -> None:
    channels, _ = store(budget=10**9)
    for _ in range(5000):  # each append trims the one before: one record kept at a time
        channels.append(ENV, A, [((), "x"), (TRIM_COMMAND, "999999999")])
    assert channels.meter.records == 1
    assert len(channels._order) <= 2 * channels.meter.records + 1024 + 1


@pytest.mark.parametrize("budget", [1, 3_000, 50_000])
def test_the_budget_holds_after_any_append_but_the_crossing_one(budget: int) -> None:
    channels, _ = store(budget=budget)
    for n in range(200):
        key = StreamKey(f"s{n % 7}", "in")
        channels.append(ENV, key, [((), "y" * (n * 37 % 900))])
        newest = channels.channel(ENV, key).records[-1].charge
        meter = channels.meter
        assert meter.bytes <= budget + newest or meter.records == 1
        assert meter.bytes == sum(
            s.overhead + sum(r.charge for r in s.records) for s in channels.streams(ENV).values()
        )


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
