"""A live reader positioned before records that are all gone (the memory budget, age, a
trim) waits for the next record: it neither spins the event loop nor misses what comes."""

from __future__ import annotations

import asyncio

import pytest

from mock_server.channels.records import StreamKey
from mock_server.channels.sse import Follow
from mock_server.channels.streams import ChannelStore
from mock_server.core.clock import ControllableClock
from mock_server.core.limits import Limits

pytestmark = pytest.mark.anyio
KEY = StreamKey("a", "out")


async def test_a_reader_before_dropped_records_waits_without_spinning() -> None:
    clock = ControllableClock(lambda: 1_000_000_000_000)
    channels = ChannelStore(clock, limits=Limits(max_record_bytes=10**9))
    channels.append("env", KEY, [((), "gone")] * 3)
    channels.limits.max_record_bytes = 700  # room for the stream, none for its records
    channels.fit_budget()
    channel = channels.channel("env", KEY)
    assert (channel.records, channel.tail) == ([], 3)
    follow = Follow(channels, channel, 0, timeout=0.6, ping_every=10, now_ms=clock.now_ms)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def later_append() -> None:
        await asyncio.sleep(0.2)
        channels.append("env", KEY, [((), "new")])

    ticking = asyncio.create_task(ticker())
    appending = asyncio.create_task(later_append())
    events = []
    async for event in follow.events():
        events.append(event)
    ticking.cancel()
    await appending
    assert ticks > 20  # the loop kept turning while the reader waited
    assert len(events) == 2 and b'"seq_num":3' in events[0] and events[1] == b"data: [DONE]\n\n"


def test_a_reader_admitted_but_never_sent_is_let_go_of() -> None:
    import gc

    clock = ControllableClock(lambda: 1_000_000_000_000)
    channels = ChannelStore(clock)
    follow = Follow(
        channels, channels.channel("env", KEY), 0, timeout=1, ping_every=1, now_ms=clock.now_ms
    )
    follow.join()
    stream = follow.events()  # as the response holds it, never started: its client left
    assert channels.live_readers == 1
    del follow, stream
    gc.collect()
    assert channels.live_readers == 0
    assert channels.peek("env", KEY) is None  # a stream only that reader touched goes too
