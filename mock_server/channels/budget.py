"""The memory budget for channel records (``--max-record-bytes``).

Every record kept counts against one budget shared by all streams of all environments.
A record counts what the fake holds for it: its S2 JSON form (which carries the body, so it
is never smaller than S2's metered size) plus the Python objects around it, measured as
:data:`RECORD_COST` bytes and :data:`HEADER_COST` per header (200,000 records with two
headers each took 787 bytes each in RSS, 134 of them the JSON).

Streams and remembered part ids count too (:data:`STREAM_COST`, :data:`PART_COST`): a
flood of readers or writers on made-up stream names, or of part ids, is bounded like one of
records. A stream only readers ever touched goes when its last reader leaves; with no record
left to drop and the budget still passed, streams with no record and no reader go, however
recently they emptied (a stream the budget emptied then numbers from 0 again).

When an append takes the total past the budget, the oldest records across all streams go
first, as a retention trim would: numbering carries on, and a reader positioned before the
oldest record kept resumes from it. The append that crossed the budget is never dropped by
its own crossing, so the total may stand above the budget by at most one append (S2 caps a
batch at 1 MiB).

:class:`Meter` counts what is kept (every stream reports its additions and removals to it,
whatever the reason: an append, age, a trim command, the budget, a reset);
:class:`AppendOrder` remembers which stream got records in which order, so the oldest can
be found without looking at every stream.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

RECORD_COST: Final = 192
"""Bytes a record costs beyond its JSON: the record object, its list slot, its place in
:class:`AppendOrder`."""
HEADER_COST: Final = 240
"""Bytes each S2 header of a record costs (a tuple of two strings)."""
STREAM_COST: Final = 640
"""Bytes a stream costs with no record, beyond its key's characters (its object, its key
tuple, its place in the store's dicts)."""
PART_COST: Final = 160
"""Bytes a remembered part id costs (a 16-byte digest and its expiry, in a dict)."""

logger = logging.getLogger("trigger_mock.records")


class Charged(Protocol):
    @property
    def seq_num(self) -> int: ...

    @property
    def timestamp(self) -> int: ...

    @property
    def charge(self) -> int: ...


def charged_bytes(wire: bytes, headers: Sequence[object]) -> int:
    """What one record counts against the budget."""
    return len(wire) + RECORD_COST + HEADER_COST * len(headers)


@dataclass(slots=True)
class Meter:
    """What every stream keeps, in records and in charged bytes, and what the budget
    dropped."""

    bytes: int = 0
    """Records, streams and remembered part ids, as each is charged."""
    records: int = 0
    streams: int = 0
    part_ids: int = 0
    dropped_records: int = 0
    dropped_bytes: int = 0
    trimming_since: int | None = None
    """When (the fake's clock, ms) the budget began dropping records; ``None`` until it
    does, and again after a reset empties the store."""

    def added(self, records: Iterable[Charged]) -> None:
        for record in records:
            self.records += 1
            self.bytes += record.charge

    def removed(self, records: Iterable[Charged]) -> None:
        for record in records:
            self.records -= 1
            self.bytes -= record.charge

    def dropped(self, records: Sequence[Charged], now_ms: int, budget: int) -> None:
        """Records the budget let go of (already counted by :meth:`removed`)."""
        if self.trimming_since is None:
            self.trimming_since = now_ms
            logger.warning(
                "record budget of %d bytes reached (--max-record-bytes): dropping the "
                "oldest channel records from now on",
                budget,
            )
        self.dropped_records += len(records)
        self.dropped_bytes += sum(record.charge for record in records)

    def cleared(self) -> None:
        """Everything was let go of (a full reset)."""
        self.bytes = self.records = self.streams = self.part_ids = 0
        self.dropped_records = self.dropped_bytes = 0
        self.trimming_since = None


class Stream(Protocol):
    """What :class:`AppendOrder` needs of a stream."""

    @property
    def records(self) -> Sequence[Charged]: ...

    def drop_through(self, last_seq: int, room: int, now_ms: int) -> Sequence[Charged]: ...


@dataclass(slots=True)
class Appended:
    """One append: ``stream`` got records numbered up to ``last_seq``."""

    stream: Stream
    last_seq: int


class AppendOrder:
    """Appends, oldest first, one entry per append (not per record). An entry whose
    records have since gone (age, a trim, a reset, a forgotten stream) is skipped when
    reached, and entries are compacted once they outnumber the records kept twice over."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: deque[Appended] = deque()

    def __len__(self) -> int:
        return len(self._entries)

    def appended(self, stream: Stream, last_seq: int, kept_records: int) -> None:
        self._entries.append(Appended(stream, last_seq))
        if len(self._entries) > 2 * kept_records + 1024:
            self._entries = deque(e for e in self._entries if _holds_some(e))

    def oldest(self, *, spare_newest: bool) -> Appended | None:
        """The oldest append with records still kept; ``None`` when there is none, or when
        only the newest append is left and ``spare_newest`` (it is the one being made)."""
        while self._entries:
            entry = self._entries[0]
            if not _holds_some(entry):
                self._entries.popleft()
                continue
            if spare_newest and entry is self._entries[-1]:
                return None
            return entry
        return None

    def spent(self) -> None:
        """The oldest entry's records are all gone."""
        self._entries.popleft()

    def clear(self) -> None:
        self._entries.clear()

    def rebuild(self, streams: Iterable[Stream]) -> None:
        """Order from scratch (a state file put records back): every kept record by its
        timestamp, consecutive records of one stream making one entry."""
        ranked = sorted(
            (record.timestamp, n, stream, record.seq_num)
            for n, stream in enumerate(streams)
            for record in stream.records
        )
        self._entries.clear()
        for _, _, stream, seq in ranked:
            last = self._entries[-1] if self._entries else None
            if last is not None and last.stream is stream:
                last.last_seq = seq
            else:
                self._entries.append(Appended(stream, seq))


def _holds_some(entry: Appended) -> bool:
    records = entry.stream.records
    return bool(records) and records[0].seq_num <= entry.last_seq
