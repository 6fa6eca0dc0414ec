"""What a channel's stream keeps, and for how long, on the fake's own clock.

The deployed server creates its S2 basins with a 30-day retention
(``REALTIME_STREAMS_BASIN_DEFAULT_RETENTION``) and deletes a stream once it has been empty
for an hour (``REALTIME_STREAMS_BASIN_DELETE_ON_EMPTY_MIN_AGE``). The fake applies the
same two rules, measured on its :class:`~mock_server.core.clock.Clock`, so a test that
moves the clock through the control plane sees them happen:

- A record more than :data:`RETENTION_MS` old is removed; no read returns it again. The
  stream's numbering carries on where it was (S2's tail never moves back), and a reader
  asking for an older position starts at the oldest record still kept.
- A stream left with no records for :data:`DELETE_ON_EMPTY_MS` is forgotten: its next
  append starts again at sequence number 0, and the part ids it had seen are gone.

S2 does this work in the background, a little after each deadline. The fake does it when
a stream is next touched (an append, a read, the state file being written) and, for every
stream, whenever the control plane moves the clock, with the same outcome: the empty hour
counts from the moment the newest record turned 30 days old (or, after a trim, from the
trim; for a stream never written to, from when it was first touched). So a stream left
alone for 30 days and an hour is gone, however the clock got there, and one whose records
aged out a minute ago still has its tail.

Besides age, a stream lets go of records when an S2 ``trim`` command asks (always keeping
the newest), when the store's memory budget needs room (:mod:`.budget`), and of part ids
once the dedupe window has passed. Whatever the reason, a stream tells the store's
:class:`~.budget.Meter` what it took and what it let go of.
"""

from __future__ import annotations

import bisect
import hashlib
import threading
from collections.abc import Hashable, Sequence
from typing import Any, Final, Generic, TypeVar

from ..core.clock import Clock
from .budget import PART_COST, Charged, Meter

RETENTION_MS: Final = 30 * 24 * 60 * 60 * 1000
"""How long a record is kept (the deployed basin's default retention, 30 days)."""
DELETE_ON_EMPTY_MS: Final = 60 * 60 * 1000
"""How long a stream may stay empty before it is forgotten (the basin's 1 hour)."""


R = TypeVar("R", bound=Charged)


class Retained(Generic[R]):
    """A stream's records (oldest first), its tail and the part ids it has seen recently,
    with the rules for letting go of them."""

    __slots__ = ("_meter", "_parts", "empty_since", "next_seq", "overhead", "records")

    def __init__(self, now_ms: int, meter: Meter, overhead: int = 0) -> None:
        self._meter = meter
        self.overhead = overhead
        """What the stream itself counts against the memory budget (its key, its objects)."""
        meter.streams += 1
        meter.bytes += overhead
        self.records: list[R] = []
        self.next_seq = 0
        """The sequence number the next record gets. It is kept apart from the records,
        so removing records (by age or by trim) never moves it back."""
        self.empty_since: int | None = now_ms
        """When, on the fake's clock, the stream was last left with no records (from its
        creation if it never had any); ``None`` while it has some."""
        self._parts: dict[bytes, int] = {}
        """A digest of each part id seen -> when it expires (ms), in expiry order; a digest
        costs the same whatever the id's length."""

    @property
    def tail(self) -> int:
        """The sequence number the next record will get."""
        return self.next_seq

    def index_of(self, seq_num: int) -> int:
        return bisect.bisect_left(self.records, seq_num, key=lambda r: r.seq_num)

    def extend(self, records: Sequence[R]) -> None:
        """Take records just appended (numbered from :attr:`tail` on)."""
        if records:
            self.records.extend(records)
            self._meter.added(records)
            self.next_seq = records[-1].seq_num + 1
            self.empty_since = None

    def restore(self, records: list[R], tail: int) -> None:
        """Take records back from a saved state; ``tail`` keeps the numbering of a stream
        whose records had all gone."""
        self._meter.removed(self.records)
        self._meter.added(records)
        self.records = records
        self.next_seq = max(tail, records[-1].seq_num + 1 if records else 0)
        if records:
            self.empty_since = None

    def claim_part(self, part_id: str, now_ms: int, window_ms: int) -> bool:
        """True if ``part_id`` was not seen in the window (and is now remembered)."""
        self.forget_parts(now_ms)
        digest = hashlib.blake2b(part_id.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        if digest in self._parts:
            return False
        self._parts[digest] = now_ms + window_ms
        self._meter.bytes += PART_COST
        self._meter.part_ids += 1
        return True

    def forget_parts(self, now_ms: int | None = None) -> None:
        """Forget the part ids whose window has passed (every one, without a time)."""
        while self._parts:  # oldest first
            seen, expiry = next(iter(self._parts.items()))
            if now_ms is not None and expiry > now_ms:
                break
            del self._parts[seen]
            self._meter.bytes -= PART_COST
            self._meter.part_ids -= 1

    @property
    def never_written(self) -> bool:
        """Nothing was ever appended and no part id is remembered: forgetting the stream
        now would change nothing anyone can see."""
        return self.next_seq == 0 and not self._parts

    def trim(self, earliest: int) -> None:
        """Drop the records before ``earliest``, always keeping the newest one."""
        self._drop_head(self.index_of(min(earliest, self.tail - 1)))

    def drop_through(self, last_seq: int, room: int, now_ms: int) -> list[R]:
        """Let go of the oldest records numbered up to ``last_seq``, as few as free
        ``room`` charged bytes (the memory budget); the records that went."""
        count = freed = 0
        for record in self.records:
            if record.seq_num > last_seq or freed >= room:
                break
            count, freed = count + 1, freed + record.charge
        gone = self._drop_head(count)
        if gone and not self.records:
            self.empty_since = now_ms
        return gone

    def _drop_head(self, count: int) -> list[R]:
        gone = self.records[:count]
        if gone:
            del self.records[:count]
            self._meter.removed(gone)
        return gone

    def release(self) -> None:
        """The store forgets this stream: its records, part ids and its own cost."""
        self._drop_head(len(self.records))
        self.forget_parts()
        self._meter.streams -= 1
        self._meter.bytes -= self.overhead
        self.overhead = 0

    def expire(self, now_ms: int) -> int:
        """Remove the records older than :data:`RETENTION_MS`; how many went. Records are
        in append order, so the aged ones are at the head (should a clock moved backwards
        have left an older timestamp behind a newer one, removal stops at the first record
        still young enough)."""
        aged = 0
        for record in self.records:
            if now_ms - record.timestamp <= RETENTION_MS:
                break
            aged += 1
        if aged:
            last_gone = self.records[aged - 1]
            self._drop_head(aged)
            if not self.records:  # empty since the moment its newest record aged out
                self.empty_since = min(now_ms, last_gone.timestamp + RETENTION_MS)
        return aged

    def forgettable(self, now_ms: int) -> bool:
        """True once the stream has had no records for :data:`DELETE_ON_EMPTY_MS`."""
        since = self.empty_since
        return not self.records and since is not None and now_ms - since >= DELETE_ON_EMPTY_MS


K = TypeVar("K", bound=Hashable)
C = TypeVar("C", bound="Retained[Any]")


class RetainingStore(Generic[K, C]):
    """The store's side of these rules (:class:`~.streams.ChannelStore` is one): a stream
    is brought up to the clock's time whenever it is touched, and every stream whenever
    the control plane moves the clock (:meth:`expire`). Forgetting a stream drops it from
    the store; its next touch makes a new one."""

    clock: Clock
    changes: int
    _lock: threading.RLock
    _streams: dict[str, dict[K, C]]

    def _current(self, env_id: str, key: K, now_ms: int) -> C | None:
        """The stream with its aged records removed; ``None`` if it does not exist, or has
        just been forgotten."""
        streams = self._streams.get(env_id, {})
        found = streams.get(key)
        if found is None:
            return None
        if found.expire(now_ms):
            self.changes += 1
        if not found.forgettable(now_ms):
            return found
        found.release()
        del streams[key]
        if not streams:
            del self._streams[env_id]
        self.changes += 1
        return None

    def streams(self, env_id: str) -> dict[K, C]:
        """The environment's streams, each brought up to the clock's time."""
        with self._lock:
            now = self.clock.now_ms()
            found = [
                (key, self._current(env_id, key, now))
                for key in list(self._streams.get(env_id, {}))
            ]
            return {key: stream for key, stream in found if stream is not None}

    def expire(self) -> None:
        """Bring every stream up to the clock's time: remove aged records, forget the
        streams empty long enough."""
        with self._lock:
            for env_id in list(self._streams):
                self.streams(env_id)
