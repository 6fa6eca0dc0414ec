"""Session channels: durable, sequenced record streams (``.in`` / ``.out``, and named
side channels), with part-id dedupe and wake-ups for live readers.

The real server keeps each channel in an S2 stream; this module keeps the same shape in
memory. A record has a sequence number (from 0, per stream), a timestamp, S2-style
headers (``[[name, value], …]``) and a string body. A stream is addressed by the
session's *canonical key* (its externalId if it has one, else its ``session_…`` id, or
the URL's key when no session exists yet), so every URL form of one session meets on one
stream. Records age out and empty streams are forgotten as the deployed basin is
configured to do (:mod:`.retention`).

Readers never get a queue of their own: they hold a sequence number and read the shared
record list from there, so a slow or stalled reader costs no memory beyond what it has
not yet been sent. Waiting readers park a future that the next append resolves; the
wake-up goes through ``call_soon_threadsafe``, so appends may come from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import Final

from ..core.clock import Clock
from ..core.limits import BoundCounts, Limits
from .budget import STREAM_COST, AppendOrder, Meter
from .errors import RecordTooLarge, S2SeqMismatch, TooManyReaders
from .records import MAX_RECORD_BYTES, TRIM_COMMAND, Headers, Record, StreamKey, metered_bytes
from .retention import Retained, RetainingStore

DEDUPE_WINDOW_MS: Final = 5 * 60 * 1000
BATCH_MAX_RECORDS: Final = 1000
BATCH_MAX_BYTES: Final = 1024 * 1024


def _trim_point(body: str) -> int:
    """The seq a trim keeps records from. S2 sends it as an 8-byte big-endian body; the
    fake stores trim records with that number in decimal (see :mod:`mock_server.handlers.s2`)."""
    return int(body) if body.isdigit() and body.isascii() else 0


class Channel(Retained[Record]):
    """One stream: its records, tail and part ids (:class:`~.retention.Retained`), and the
    live readers following it."""

    __slots__ = ("_waiters", "home", "readers")

    def __init__(self, now_ms: int, meter: Meter, home: tuple[str, StreamKey]) -> None:
        key = home[1]
        super().__init__(now_ms, meter, STREAM_COST + len(key.key) + len(key.channel or ""))
        self.home = home
        """Its environment and key in the store."""
        self._waiters: list[asyncio.Future[None]] = []
        self.readers = 0
        """Live SSE readers holding this very object."""

    def read(self, start: int) -> list[Record]:
        """Records from ``start`` on, one batch's worth at most."""
        batch: list[Record] = []
        size = 0
        first = self.index_of(start)
        for record in self.records[first : first + BATCH_MAX_RECORDS]:
            size += len(record.wire)
            if batch and size > BATCH_MAX_BYTES:
                break
            batch.append(record)
        return batch

    def forgettable(self, now_ms: int) -> bool:
        """Empty long enough, and no one is reading it. A live reader holds this object and
        waits on it, so it is kept while one is there (a replacement would never wake
        them); the first touch or sweep after the last one leaves forgets it."""
        return not self.readers and not self._waiters and super().forgettable(now_ms)

    def last_settling_record(self) -> Record | None:
        """The newest record that is not an S2 command record."""
        return next((r for r in reversed(self.records) if not r.is_command), None)

    def _wake(self) -> None:
        for waiter in self._waiters:
            waiter.get_loop().call_soon_threadsafe(_resolve, waiter)
        self._waiters = []


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


AppendObserver = Callable[[str, StreamKey, Sequence[Record]], None]


class ChannelStore(RetainingStore[StreamKey, Channel]):
    """Every environment's channels. Streams come into being when first touched, and go
    as :mod:`.retention` says."""

    def __init__(
        self,
        clock: Clock,
        *,
        limits: Limits | None = None,
        bounds: BoundCounts | None = None,
        dedupe_window_ms: int = DEDUPE_WINDOW_MS,
    ) -> None:
        self.clock = clock
        self.limits = limits or Limits()
        """Read for ``max_record_bytes`` at each append, ``max_sse_readers`` at each read."""
        self.bounds = bounds or BoundCounts()
        self.meter = Meter()
        """What every stream keeps, and what the budget dropped."""
        self._order = AppendOrder()
        self._idle_swept = float("-inf")
        self.dedupe_window_ms = dedupe_window_ms
        self.observers: list[AppendObserver] = []
        self._lock = threading.RLock()
        self._streams: dict[str, dict[StreamKey, Channel]] = {}
        self.closing = False
        """Set when the server stops: live readers end their streams."""
        self.live_readers = 0
        """Open SSE streams, over all channels."""
        self.changes = 0
        """Counts writes, so a saver can tell whether anything changed."""

    def channel(self, env_id: str, stream: StreamKey) -> Channel:
        """The stream, brought into being (or back, once forgotten) if need be."""
        with self._lock:
            now = self.clock.now_ms()
            found = self._current(env_id, stream, now)
            if found is None:
                found = Channel(now, self.meter, (env_id, stream))
                self._streams.setdefault(env_id, {})[stream] = found
            return found

    def peek(self, env_id: str, stream: StreamKey) -> Channel | None:
        """The stream if something touched it and it is not forgotten (a drain does not
        bring one into being)."""
        with self._lock:
            return self._current(env_id, stream, self.clock.now_ms())

    def read(self, channel: Channel, start: int) -> list[Record]:
        """A live reader's next batch (:meth:`Channel.read`), aged records removed first."""
        with self._lock:
            if channel.expire(self.clock.now_ms()):
                self.changes += 1
        return channel.read(start)

    def append(
        self,
        env_id: str,
        stream: StreamKey,
        items: Sequence[tuple[Headers, str]],
        *,
        part_id: str | None = None,
        match_seq_num: int | None = None,
    ) -> list[Record] | None:
        """Append records atomically. With a ``part_id`` already seen on this stream in
        the dedupe window, nothing is appended and ``None`` is returned. An S2 ``trim``
        command record (header ``("", "trim")``, body the earliest seq to keep, in decimal)
        drops the records before that seq."""
        for headers, body in items:
            size = metered_bytes(headers, body)
            if size > MAX_RECORD_BYTES:
                raise RecordTooLarge(size, MAX_RECORD_BYTES)
        with self._lock:
            channel = self.channel(env_id, stream)
            if match_seq_num is not None and match_seq_num != channel.tail:
                raise S2SeqMismatch(channel.tail)
            now = self.clock.now_ms()
            if part_id is not None and not channel.claim_part(part_id, now, self.dedupe_window_ms):
                return None
            seq = channel.tail
            added = [Record.make(seq + i, now, h, b) for i, (h, b) in enumerate(items)]
            channel.extend(added)
            self.changes += 1
            for headers, body in items:
                if headers == TRIM_COMMAND:
                    channel.trim(_trim_point(body))
            self._order.appended(channel, added[-1].seq_num, self.meter.records)
            self._fit_budget(now, spare_newest=True)
            channel._wake()
        for observer in self.observers:
            observer(env_id, stream, added)
        return added

    async def wait(self, channel: Channel, seen_tail: int, within: float) -> bool:
        """Wait up to ``within`` seconds for a record at or after ``seen_tail``."""
        with self._lock:
            if channel.tail > seen_tail:
                return True
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            channel._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), within)
        except TimeoutError:
            pass
        finally:
            with self._lock, contextlib.suppress(ValueError):
                channel._waiters.remove(waiter)
        return channel.tail > seen_tail

    def admit_reader(self) -> None:
        """:class:`TooManyReaders` if ``max_sse_readers`` are reading already (a reader
        counts from its admission: :meth:`~.sse.Follow.join`)."""
        if self.live_readers >= self.limits.max_sse_readers:
            self.bounds.refused_readers += 1
            raise TooManyReaders(self.limits.max_sse_readers)

    def reader_joined(self, delta: int, channel: Channel | None = None) -> None:
        """A live reader came (``1``) or left (``-1``). A stream that only readers ever
        touched is forgotten when the last one leaves, so readers of made-up keys leave
        nothing behind."""
        with self._lock:
            self.live_readers += delta
            if channel is not None:
                channel.readers += delta
                if not channel.readers and not channel._waiters and channel.never_written:
                    self._forget(channel)

    def _forget(self, channel: Channel) -> None:
        env_id, key = channel.home
        streams = self._streams.get(env_id, {})
        if streams.get(key) is channel:
            channel.release()
            del streams[key]
            if not streams:
                del self._streams[env_id]

    def close_readers(self) -> None:
        """End every live reader's stream (the server is stopping)."""
        with self._lock:
            self.closing = True
            for streams in self._streams.values():
                for channel in streams.values():
                    channel._wake()

    def waiting_readers(self, env_id: str, stream: StreamKey) -> int:
        with self._lock:
            found = self._streams.get(env_id, {}).get(stream)
            return 0 if found is None else len(found._waiters)

    def fit_budget(self) -> None:
        """Drop the oldest records until the budget holds (it was just lowered)."""
        with self._lock:
            self._fit_budget(self.clock.now_ms(), spare_newest=False)

    def _fit_budget(self, now_ms: int, *, spare_newest: bool) -> None:
        budget = self.limits.max_record_bytes
        while self.meter.bytes > budget:
            oldest = self._order.oldest(spare_newest=spare_newest)
            if oldest is None:
                self._forget_idle(now_ms)
                return
            gone = oldest.stream.drop_through(oldest.last_seq, self.meter.bytes - budget, now_ms)
            self.meter.dropped(gone, now_ms, budget)
            self.changes += 1

    def _forget_idle(self, now_ms: int) -> None:
        """Over the budget with no record left to drop: forget the part ids whose window
        has passed and every stream with no record and no reader, however recently it
        emptied (a stream the budget emptied then starts again at 0). At most once a
        second: it looks at every stream."""
        moment = time.monotonic()
        if moment - self._idle_swept < 1.0:
            return
        self._idle_swept = moment
        for streams in list(self._streams.values()):
            for channel in list(streams.values()):
                channel.forget_parts(now_ms)
                if not channel.records and not channel.readers and not channel._waiters:
                    self._forget(channel)
                    self.changes += 1

    def reset(self, env_id: str | None = None) -> None:
        with self._lock:
            self.changes += 1
            if env_id is None:
                # Released first: a live reader may still hold one, and must find it empty.
                for streams in self._streams.values():
                    for channel in streams.values():
                        channel.release()
                self._streams = {}
                self._order.clear()
                self.meter.cleared()
            else:
                for channel in self._streams.pop(env_id, {}).values():
                    channel.release()

    def environment_ids(self) -> list[str]:
        with self._lock:
            return list(self._streams)

    def restore(self, env_id: str, stream: StreamKey, records: list[Record], tail: int = 0) -> None:
        """Put a stream's records back (a state file); ``tail`` keeps the numbering of a
        stream whose records have all aged out."""
        with self._lock:
            self.channel(env_id, stream).restore(records, tail)
            self.changes += 1

    def restored(self) -> None:
        """Every stream is back (a state file): order their records by age, and hold the
        budget, which may be lower than when they were saved."""
        with self._lock:
            self._order.rebuild(c for s in self._streams.values() for c in s.values())
            self._fit_budget(self.clock.now_ms(), spare_newest=False)
