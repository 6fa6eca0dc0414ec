"""The soak's bookkeeping and verdicts, free of any I/O so they can be unit-tested.

A *book* keeps what the server acknowledged (and what it may have done without saying so),
each with the client's monotonic time of the answer; the ``check_*`` functions hold what a
restarted server shows against it. ``cutoff`` is for the ``kill -9``: what was acknowledged
at or after it may be missing (the state file is written at most twice a second), what was
acknowledged before it may not.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

NEVER = math.inf


def digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=12).digest()


# --- sessions ---------------------------------------------------------------------------

Content = tuple[tuple[str, ...], str]
"""A session's tags and its metadata (as canonical JSON)."""
Closure = tuple[bool, str | None]
"""Whether a session is closed, and its reason."""


def content_of(row: Mapping[str, Any]) -> Content:
    return tuple(row["tags"]), json.dumps(row["metadata"], sort_keys=True)


def closure_of(row: Mapping[str, Any]) -> Closure:
    return row["closedAt"] is not None, row["closedReason"]


@dataclass(slots=True)
class Event:
    at: float
    certain: bool
    """``True``: an answer showed this state; ``False``: a write whose outcome is unknown
    (an error, an injected fault), which may or may not have been carried out."""
    content: Content | None = None
    closure: Closure | None = None


@dataclass(slots=True)
class SessionBook:
    """One session, as the soak knows it: its id and every state it was seen in or may
    have been put in, oldest first."""

    key: str
    external_id: str
    session_id: str
    events: list[Event] = field(default_factory=list)

    def seen(self, at: float, row: Mapping[str, Any]) -> None:
        self.events.append(Event(at, True, content_of(row), closure_of(row)))

    def tried(
        self, at: float, content: Content | None = None, closure: Closure | None = None
    ) -> None:
        self.events.append(Event(at, False, content, closure))

    @property
    def created_at(self) -> float:
        return self.events[0].at

    def acceptable(self, part: str, cutoff: float = NEVER) -> set[Any]:
        """The values of ``part`` (``"content"`` or ``"closure"``) the server may show: the
        last one seen before ``cutoff``, and everything seen or tried since it."""
        values = [(e.at, e.certain, getattr(e, part)) for e in self.events]
        values = [v for v in values if v[2] is not None]
        anchor = max(
            (n for n, (at, sure, _) in enumerate(values) if sure and at < cutoff), default=0
        )
        return {value for _, _, value in values[anchor:]}

    def reset(self, at: float, row: Mapping[str, Any]) -> None:
        """After a restart: what the server holds now is the new starting point."""
        self.session_id = row["id"]
        self.events = [Event(at, True, content_of(row), closure_of(row))]


@dataclass(slots=True)
class Verdict:
    """The result of holding a restarted server against the books."""

    checked: int = 0
    missing_by_budget: int = 0
    lost_in_window: list[float] = field(default_factory=list)
    """For each write lost within the kill window, how long before the kill it was
    acknowledged (seconds)."""
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        if len(self.problems) < 40:
            self.problems.append(text)
        elif len(self.problems) == 40:
            self.problems.append("… (more problems not listed)")

    def merge(self, other: Verdict) -> None:
        self.checked += other.checked
        self.missing_by_budget += other.missing_by_budget
        self.lost_in_window += other.lost_in_window
        for text in other.problems:
            self.problem(text)


def check_session(
    book: SessionBook, row: Mapping[str, Any] | None, cutoff: float = NEVER, kill: float = NEVER
) -> Verdict:
    verdict = Verdict(checked=1)
    name = f"session {book.external_id} ({book.key[:14]}…)"
    if row is None:
        if book.created_at >= cutoff:
            verdict.lost_in_window.append(kill - book.created_at)
        else:
            verdict.problem(f"{name}: missing after the restart")
        return verdict
    if row["id"] != book.session_id:
        verdict.problem(f"{name}: id {row['id']}, acknowledged as {book.session_id}")
    for part, shown in (("content", content_of(row)), ("closure", closure_of(row))):
        allowed = book.acceptable(part, cutoff)
        if shown not in allowed:
            verdict.problem(f"{name}: {part} {shown!r}, expected one of {sorted(allowed)!r}")
        elif cutoff < NEVER and shown not in book.acceptable(part):
            # An older state came back: the newer writes were lost in the kill window.
            newer = [e.at for e in book.events if e.certain and e.at >= cutoff]
            verdict.lost_in_window.append(kill - min(newer))
    return verdict


# --- channel records ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Acked:
    at: float
    digest: bytes
    part_id: str | None
    """The part id of an API append (stored as ``{"data": text, "id": part_id}``, and
    ``digest`` is the text's); ``None`` for an S2 append (``digest`` is the body's)."""


StreamKey = tuple[str, str, str, str | None]
"""(secret key, externalId, io, side channel or ``None``)."""


@dataclass(slots=True)
class Observed:
    """A stream as the restarted server holds it: its tail (the next sequence number)
    and the records kept, by sequence number."""

    tail: int
    records: dict[int, str]

    @property
    def oldest(self) -> int:
        return min(self.records, default=self.tail)


def record_matches(acked: Acked, body: str) -> bool:
    if acked.part_id is None:
        return digest(body) == acked.digest
    try:
        envelope = json.loads(body)
    except ValueError:
        return False
    return (
        isinstance(envelope, dict)
        and isinstance(envelope.get("data"), str)
        and envelope.get("id") == acked.part_id
        and digest(envelope["data"]) == acked.digest
    )


def check_stream(
    key: StreamKey,
    acked: Mapping[int, Acked],
    seen: Observed,
    cutoff: float = NEVER,
    kill: float = NEVER,
) -> tuple[Verdict, list[int]]:
    """The verdict on one stream, and the sequence numbers lost in the kill window (to be
    forgotten: the restarted server numbers new records from its tail again)."""
    verdict, lost = Verdict(checked=len(acked)), []
    name = "/".join(part for part in key[1:] if part)
    oldest = seen.oldest
    for seq in sorted(acked):
        record = acked[seq]
        if seq >= seen.tail:
            if record.at >= cutoff:
                verdict.lost_in_window.append(kill - record.at)
                lost.append(seq)
            else:
                verdict.problem(f"{name}: tail {seen.tail}, but seq {seq} was acknowledged")
        elif seq < oldest:
            verdict.missing_by_budget += 1
        elif seq not in seen.records:
            verdict.problem(f"{name}: seq {seq} missing inside the kept range {oldest}..")
        elif not record_matches(record, seen.records[seq]):
            verdict.problem(f"{name}: seq {seq} holds another body than the one acknowledged")
    return verdict, lost


def drop_order_violations(dropped: Iterable[float], kept: Iterable[float], tolerance: float) -> int:
    """How many records the budget dropped although a record acknowledged more than
    ``tolerance`` seconds *earlier* was kept: it drops the oldest first."""
    earliest_kept = min(kept, default=NEVER)
    return sum(1 for at in dropped if at > earliest_kept + tolerance)


# --- the kill window ----------------------------------------------------------------------


def save_gaps(observed: Sequence[float], start: float, end: float) -> list[float]:
    """Seconds between consecutive state-file writes seen in ``[start, end]``."""
    inside = [at for at in observed if start <= at <= end]
    return [b - a for a, b in itertools.pairwise(inside)]


KILL_MARGIN = 0.1
"""Seconds added to the kill window for what the gaps do not show: the answer reaching
the client after the write was applied, and the event loop's own lag on either side."""


def kill_window(gaps: Sequence[float], interval: float, poll: float) -> float:
    """How long before a ``kill -9`` an acknowledged write may still be missing after it.

    The server takes the state on its event loop (save *i* starts at ``S_i``), writes it
    and renames it into place (``E_i``), waits ``interval``, and takes it again. A write
    applied just after ``S_i`` is on disk at ``E_{i+1}``, and ``E_{i+1} - S_i`` is the gap
    between the two renames plus save *i*'s own duration, which is at most its own gap less
    ``interval``: at most two consecutive gaps less ``interval``. The renames are seen by
    polling every ``poll`` seconds, which may widen each gap by as much; and
    :data:`KILL_MARGIN` on top."""
    if not gaps:
        return interval + 2 * poll + 0.5 + KILL_MARGIN
    pairs = [a + b for a, b in itertools.pairwise(gaps)] or [2 * gaps[0]]
    return max(pairs) - interval + 2 * poll + KILL_MARGIN


def overlaps(start: float, end: float, windows: Iterable[tuple[float, float]]) -> bool:
    return any(start <= w_end and end >= w_start for w_start, w_end in windows)


# --- memory -------------------------------------------------------------------------------


@dataclass(slots=True)
class RssVerdict:
    baseline: float
    bound: float
    earlier: float
    """Median MiB of the window the last third is compared with."""
    earlier_window: str
    last_third: float
    last_third_max: float
    peak: float
    problems: list[str]


def rss_verdict(
    samples: Sequence[tuple[float, float]],
    *,
    start: float,
    end: float,
    settled: float,
    baseline: float,
    budget_mib: float,
    slack_mib: float,
    climb_mib: float,
) -> RssVerdict:
    """``samples``: (time, MiB) of the server serving ``[start, end]``. The last third
    must stay under ``baseline + budget + slack``, and must not keep climbing: its median
    may exceed the second third's by at most ``climb_mib``.

    Only samples from ``settled`` on count for the second third: a restarted server
    (``kill -9`` midway) first loads its state file and fills its journal again, which is
    its warm-up, not a climb. When that leaves too little of the second third (a short
    run), the last third's first half stands in for it, against its second half."""
    third = (end - start) / 3
    earlier_from = max(start + third, settled)
    earlier = [mib for at, mib in samples if earlier_from <= at < start + 2 * third]
    last = [mib for at, mib in samples if start + 2 * third <= at <= end]
    compared, window = last, "second third"
    if len(earlier) < 5:
        half = start + 2.5 * third
        earlier = [mib for at, mib in samples if start + 2 * third <= at < half]
        compared = [mib for at, mib in samples if half <= at <= end]
        window = "first half of the last third"
    bound = baseline + budget_mib + slack_mib
    problems = []
    if not earlier or not compared:
        problems.append("RSS: too few samples to judge")
        earlier, compared, last = earlier or [0.0], compared or [0.0], last or [0.0]
    median_earlier, median_compared = statistics.median(earlier), statistics.median(compared)
    if max(last) > bound:
        problems.append(f"RSS {max(last):.0f} MiB in the last third, over the bound {bound:.0f}")
    if median_compared > median_earlier + climb_mib:
        problems.append(
            f"RSS still climbing: median {median_earlier:.0f} MiB in the {window}, "
            f"{median_compared:.0f} after it (allowed +{climb_mib:.0f})"
        )
    return RssVerdict(
        baseline,
        bound,
        median_earlier,
        window,
        statistics.median(last),
        max(last),
        max((mib for _, mib in samples), default=0.0),
        problems,
    )
