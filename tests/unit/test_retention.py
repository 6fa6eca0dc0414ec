"""Channel retention on the fake's clock: records older than 30 days go (the numbering
stays), a stream empty for an hour is forgotten, and live readers keep theirs."""

from __future__ import annotations

import asyncio

import pytest

from mock_server.channels.records import StreamKey
from mock_server.channels.retention import DELETE_ON_EMPTY_MS, RETENTION_MS
from mock_server.channels.sse import Follow
from mock_server.channels.streams import ChannelStore
from mock_server.core.clock import ControllableClock

ENV = "cenv"
IN = StreamKey("chat", "in")
OUT = StreamKey("chat", "out")
T0 = 1_700_000_000_000


def make() -> tuple[ChannelStore, ControllableClock]:
    clock = ControllableClock(lambda: T0)
    return ChannelStore(clock), clock


def advance_ms(clock: ControllableClock, ms: int) -> None:
    clock.advance(ms / 1000)


def seqs(channels: ChannelStore, stream: StreamKey = IN) -> list[int]:
    found = channels.peek(ENV, stream)
    assert found is not None
    return [r.seq_num for r in found.records]


def test_the_constants_are_the_deployed_basins() -> None:
    assert RETENTION_MS == 30 * 24 * 3600 * 1000
    assert DELETE_ON_EMPTY_MS == 3600 * 1000


def test_a_record_older_than_30_days_goes_and_the_numbering_carries_on() -> None:
    channels, clock = make()
    channels.append(ENV, IN, [((), "a"), ((), "b")])
    advance_ms(clock, RETENTION_MS)
    assert seqs(channels) == [0, 1]  # exactly 30 days old is still kept
    advance_ms(clock, 1)
    assert seqs(channels) == []
    assert channels.channel(ENV, IN).tail == 2
    added = channels.append(ENV, IN, [((), "c")])
    assert added is not None and added[0].seq_num == 2
    assert [r.seq_num for r in channels.channel(ENV, IN).read(0)] == [2]


def test_only_the_aged_records_go_and_a_reader_before_them_resumes_at_the_oldest_kept() -> None:
    channels, clock = make()
    channels.append(ENV, IN, [((), "old")])
    advance_ms(clock, 10 * 24 * 3600 * 1000)
    channels.append(ENV, IN, [((), "newer"), ((), "newest")])
    advance_ms(clock, RETENTION_MS - 1000)
    channel = channels.channel(ENV, IN)
    assert [r.body for r in channels.read(channel, 0)] == ["newer", "newest"]
    assert [r.seq_num for r in channels.read(channel, 0)] == [1, 2]


def test_a_live_readers_read_removes_aged_records_without_any_other_touch() -> None:
    channels, clock = make()
    channel = channels.channel(ENV, IN)
    channels.append(ENV, IN, [((), "a")])
    changes = channels.changes
    advance_ms(clock, RETENTION_MS + 1)
    assert channels.read(channel, 0) == []
    assert channel.records == []  # removed, not just skipped
    assert channels.changes > changes  # so the state file is rewritten without it


def test_expire_sweeps_every_stream_of_every_environment() -> None:
    channels, clock = make()
    held = []
    for env_id in ("cenv", "cother"):
        for stream in (IN, OUT):
            channels.append(env_id, stream, [((), "x")])
            held.append(channels.channel(env_id, stream))
    advance_ms(clock, RETENTION_MS + 1)
    assert all(len(c.records) == 1 for c in held)  # nothing touched them yet
    changes = channels.changes
    channels.expire()
    assert all(c.records == [] and c.tail == 1 for c in held)
    assert sorted(channels.environment_ids()) == ["cenv", "cother"]
    assert channels.changes > changes  # the state file is rewritten without them
    changes = channels.changes
    advance_ms(clock, DELETE_ON_EMPTY_MS)
    channels.expire()
    assert channels.environment_ids() == []
    assert channels.changes > changes


def test_a_stream_empty_for_an_hour_is_forgotten_and_starts_again_at_zero() -> None:
    channels, clock = make()
    channels.append(ENV, IN, [((), "a"), ((), "b")])
    advance_ms(clock, RETENTION_MS + 1)
    channels.expire()  # the records go; the empty hour began as the newest turned 30 days
    advance_ms(clock, DELETE_ON_EMPTY_MS - 2)
    found = channels.peek(ENV, IN)
    assert found is not None and found.tail == 2
    advance_ms(clock, 1)
    assert channels.peek(ENV, IN) is None
    added = channels.append(ENV, IN, [((), "c")])
    assert added is not None and added[0].seq_num == 0


def test_a_forgotten_stream_forgets_its_part_ids() -> None:
    clock = ControllableClock(lambda: T0)
    channels = ChannelStore(clock, dedupe_window_ms=10 * RETENTION_MS)
    assert channels.append(ENV, IN, [((), "a")], part_id="p") is not None
    advance_ms(clock, RETENTION_MS + 1)
    channels.expire()
    assert channels.append(ENV, IN, [((), "again")], part_id="p") is None  # still remembered
    advance_ms(clock, DELETE_ON_EMPTY_MS)
    added = channels.append(ENV, IN, [((), "again")], part_id="p")
    assert added is not None and added[0].seq_num == 0


def test_a_stream_never_written_is_forgotten_an_hour_after_it_was_touched() -> None:
    channels, clock = make()
    touched = channels.channel(ENV, IN)
    advance_ms(clock, DELETE_ON_EMPTY_MS - 1)
    assert channels.peek(ENV, IN) is touched
    advance_ms(clock, 1)
    assert channels.peek(ENV, IN) is None
    assert channels.channel(ENV, IN) is not touched


def test_a_stream_written_again_after_emptying_is_not_forgotten() -> None:
    channels, clock = make()
    channels.append(ENV, IN, [((), "a")])
    advance_ms(clock, RETENTION_MS + 1)
    channels.expire()
    channels.append(ENV, IN, [((), "b")])
    advance_ms(clock, 2 * DELETE_ON_EMPTY_MS)
    channels.expire()
    assert seqs(channels) == [1]


def test_a_live_reader_keeps_its_stream_until_it_leaves() -> None:
    channels, clock = make()
    channels.append(ENV, IN, [((), "a")])
    channel = channels.channel(ENV, IN)
    channels.reader_joined(1, channel)
    advance_ms(clock, RETENTION_MS + DELETE_ON_EMPTY_MS + 1)
    channels.expire()
    advance_ms(clock, 2 * DELETE_ON_EMPTY_MS)
    channels.expire()
    assert channels.peek(ENV, IN) is channel and channel.tail == 1
    added = channels.append(ENV, IN, [((), "b")])
    assert added is not None and added[0].seq_num == 1  # the reader sees it at its position
    assert channels.live_readers == 1
    channels.reader_joined(-1, channel)
    assert channels.live_readers == 0 and channel.readers == 0
    advance_ms(clock, RETENTION_MS + 1)
    channels.expire()
    advance_ms(clock, DELETE_ON_EMPTY_MS)
    channels.expire()
    assert channels.peek(ENV, IN) is None


@pytest.mark.anyio
async def test_a_waiting_reader_keeps_its_stream_and_is_woken_on_it() -> None:
    channels, clock = make()
    channel = channels.channel(ENV, IN)
    waiting = asyncio.create_task(channels.wait(channel, 0, 5))
    await asyncio.sleep(0)
    assert channels.waiting_readers(ENV, IN) == 1
    advance_ms(clock, 2 * DELETE_ON_EMPTY_MS)
    channels.expire()
    assert channels.peek(ENV, IN) is channel
    channels.append(ENV, IN, [((), "a")])
    assert await asyncio.wait_for(waiting, 1) is True


@pytest.mark.anyio
async def test_an_sse_reader_skips_aged_records_and_keeps_its_stream_while_it_reads() -> None:
    channels, clock = make()
    channel = channels.channel(ENV, IN)
    channels.append(ENV, IN, [((), "old")])
    advance_ms(clock, RETENTION_MS)
    channels.append(ENV, IN, [((), "new")])
    advance_ms(clock, 1)  # "old" has aged; nothing has touched the stream since
    follow = Follow(channels, channel, position=0, timeout=0, ping_every=60, now_ms=clock.now_ms)
    events = follow.events()
    first = await anext(events)
    assert b'"body":"new"' in first and b'"body":"old"' not in first
    assert b'"tail":{"seq_num":2' in first
    advance_ms(clock, RETENTION_MS + 1)
    channels.expire()
    advance_ms(clock, DELETE_ON_EMPTY_MS)
    channels.expire()
    assert channels.peek(ENV, IN) is channel  # the reader is still on it
    assert [event async for event in events] == [b"data: [DONE]\n\n"]
    channels.expire()
    assert channels.peek(ENV, IN) is None


def test_a_trim_still_keeps_the_newest_record_and_the_numbering() -> None:
    channels, clock = make()
    channels.append(ENV, OUT, [((), str(n)) for n in range(3)])
    channels.append(ENV, OUT, [((("", "trim"),), "99")])
    assert seqs(channels, OUT) == [3]
    advance_ms(clock, RETENTION_MS + 1)
    assert seqs(channels, OUT) == []
    added = channels.append(ENV, OUT, [((), "next")])
    assert added is not None and added[0].seq_num == 4


def test_restore_keeps_the_tail_of_a_stream_without_records() -> None:
    channels, _ = make()
    channels.restore(ENV, IN, [], tail=7)
    added = channels.append(ENV, IN, [((), "a")])
    assert added is not None and added[0].seq_num == 7
    channels.restore(ENV, OUT, [])  # an older state file: no tail
    assert channels.channel(ENV, OUT).tail == 0


def test_the_empty_hour_counts_from_when_the_records_aged_not_when_the_fake_looked() -> None:
    channels, clock = make()
    channels.append(ENV, IN, [((), "a")])
    advance_ms(clock, RETENTION_MS + DELETE_ON_EMPTY_MS)  # one jump, nothing touched between
    assert channels.peek(ENV, IN) is None
    added = channels.append(ENV, IN, [((), "b")])
    assert added is not None and added[0].seq_num == 0
