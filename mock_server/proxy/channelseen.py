"""What a recording saw of one channel: its records by sequence number, each read that
showed them, and what the recorded requests wrote to it; and from those, the trims it can
tell happened.

Records come from SSE reads and the control plane's record reads byte for byte, and,
where no read showed a sequence number, from ``records`` reads, API appends and the
control plane's writes, rebuilt as the server stores them. A read that starts at a number
and no longer shows records an earlier look showed there tells of a trim (the ``records``
read skips the trim record itself): :meth:`SeenChannel.infer_trims` puts one back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qs

import orjson

from ..channels.realtime import IN
from ..channels.records import CONTROL_HEADER, TRIM_COMMAND, envelope
from ..channels.sanitize import strip_client_webhook_source
from ..control.records import record_items
from ..core.errors import ApiError
from .cassette import Interaction
from .eventstream import read_stream

Headers = tuple[tuple[str, str], ...]
FILLER: Final = {"body": "", "headers": [["", "fence"]]}
"""What stands for a record the recording never saw (an S2 command record, which
readers of ``records`` skip), so the numbers after it stay as recorded."""


@dataclass(frozen=True, slots=True)
class SeenRead:
    index: int
    """The interaction's place in the cassette."""
    start: int | None
    """The first sequence number it asked for; ``None`` when it started at the tail."""
    seqs: tuple[int, ...]
    """The sequence numbers it showed, in order."""


@dataclass(frozen=True, slots=True)
class Trim:
    seq: int
    """Where the trim record is put: after every number known when it was found."""
    point: int
    """The first sequence number kept."""
    index: int
    """The read that showed it."""


def part_id_of(body: str) -> str | None:
    """The part id of a stored envelope ``{"data":…,"id":…}``."""
    if not body.startswith("{"):
        return None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    found = parsed.get("id") if isinstance(parsed, dict) and "data" in parsed else None
    return found if isinstance(found, str) and found else None


@dataclass
class SeenChannel:
    records: dict[int, tuple[Headers, str, bool]] = field(default_factory=dict)
    """seq → (headers, body, exact)."""
    first_write: int | None = None
    parts: dict[int, Any] = field(default_factory=dict)
    """seq → the data of a part whose id the upstream minted and no read showed: the seed
    writes it as ``{data}``, so it gets a part id of its own."""
    reads: list[SeenRead] = field(default_factory=list)
    written: dict[int, int] = field(default_factory=dict)
    """seq → the interaction whose answer said it wrote that number."""
    written_parts: set[str] = field(default_factory=set)
    """Part ids recorded requests sent (an append answered ``500`` may have stored)."""
    trims: list[Trim] = field(default_factory=list)
    """Trims no record showed, found by :meth:`infer_trims`."""

    def put(self, seq: int, headers: Headers, body: str, *, exact: bool) -> None:
        if exact or seq not in self.records:
            self.records[seq] = (headers, body, exact)

    def wrote(self, seq: int, index: int = -1) -> None:
        self.first_write = seq if self.first_write is None else min(self.first_write, seq)
        self.written.setdefault(seq, index)

    def merge(self, other: SeenChannel) -> None:
        for seq, (headers, body, exact) in other.records.items():
            self.put(seq, headers, body, exact=exact)
        self.parts.update(other.parts)
        for seq, index in other.written.items():
            self.wrote(seq, index)
        self.written_parts |= other.written_parts
        self.reads = sorted([*self.reads, *other.reads], key=lambda r: r.index)

    def is_plain(self, seq: int) -> bool:
        """Whether a record seen at ``seq`` is not an S2 command record."""
        found = self.records.get(seq)
        return found is not None and not (found[0] and found[0][0][0] == "")

    def infer_trims(self) -> list[Trim]:
        """The trims the reads show and no record did (each read that starts at or below
        numbers an earlier look showed, and no longer shows them); each is put in
        :attr:`records` as a trim record after every number known at that read."""
        known: set[int] = set()
        shown = [int(b) for h, b, _ in self.records.values() if h == TRIM_COMMAND and b.isdigit()]
        done = max(shown, default=0)
        for read in self.reads:
            known |= {s for s, at in self.written.items() if at < read.index}
            if read.start is not None:
                first = read.seqs[0] if read.seqs else None
                gone = [s for s in known if s >= read.start and (first is None or s < first)]
                point = first if first is not None else max(known, default=-1) + 1
                if gone and point > done:
                    seq = max(known | set(read.seqs)) + 1
                    while seq in self.records or seq in self.written:
                        seq += 1
                    self.trims.append(Trim(seq, point, read.index))
                    self.records[seq] = (TRIM_COMMAND, str(point), False)
                    done = point
            known |= {s for s in read.seqs if self.is_plain(s)}
        return self.trims

    # --- what an interaction shows --------------------------------------------------------

    def saw(self, n: int, i: Interaction, op: str | None, io: str, *, control: bool) -> None:
        """Take in interaction ``n`` on this channel (a read, an append or a write)."""
        if op is None and i.method == "GET" and i.is_event_stream:
            self._stream(n, i)
        elif op == "records" and i.method == "GET":
            self._read_records(n, i, exact=control)
        elif op == "append" and i.method == "POST":
            self._appended(n, i, io)
        elif op == "records" and i.method == "POST" and control:
            self._written(n, i)

    def _stream(self, n: int, i: Interaction) -> None:
        last = i.request_header("last-event-id")
        if last is not None and last.strip().isdigit():
            start: int | None = int(last) + 1
        elif (i.request_header("x-trigger-stream-start") or "").lower() == "latest":
            start = None
        else:
            start = 0
        records = read_stream(i.response_body).records
        for record in records:
            self.put(record.seq_num, record.headers, record.body, exact=True)
        self.reads.append(SeenRead(n, start, tuple(r.seq_num for r in records)))

    def _read_records(self, n: int, i: Interaction, *, exact: bool) -> None:
        answer = i.response_json()
        query = parse_qs(i.query)
        after = (query.get("after") if exact else query.get("afterEventId")) or [""]
        start = int(after[0]) + 1 if after[0].isdigit() else 0
        shown: list[int] = []
        for view in answer.get("records", []) if isinstance(answer, dict) else []:
            seq, raw_headers = view.get("seqNum"), view.get("headers") or []
            if not isinstance(seq, int):
                continue
            headers = tuple((str(h[0]), str(h[1])) for h in raw_headers if len(h) == 2)
            if exact and isinstance(view.get("body"), str):
                self.put(seq, headers, view["body"], exact=True)
            elif view.get("id"):  # a part: the stored envelope, rebuilt
                self.put(seq, headers, envelope(view.get("data"), view["id"]), exact=False)
            elif any(name == CONTROL_HEADER for name, _ in headers):
                self.put(seq, headers, "", exact=False)
            else:
                continue  # a body this read does not show
            shown.append(seq)
        self.reads.append(SeenRead(n, start, tuple(shown)))

    def _appended(self, n: int, i: Interaction, io: str) -> None:
        answer = i.response_json()
        seq = answer.get("seq") if isinstance(answer, dict) else None
        part_id = i.request_header("x-part-id")
        if part_id:
            self.written_parts.add(part_id)
        if not isinstance(seq, int) or not 200 <= i.status < 300:
            return
        self.wrote(seq, n)
        text = i.request_body.decode("utf-8", "replace")
        text = strip_client_webhook_source(text) if io == IN else text
        if part_id:
            self.put(seq, (), envelope(text, part_id), exact=False)
        else:
            self.parts[seq] = text

    def _written(self, n: int, i: Interaction) -> None:
        body, answer = i.request_json(), i.response_json()
        seqs = answer.get("seqNums") if isinstance(answer, dict) else None
        if not isinstance(seqs, list) or not seqs:
            return
        for seq in seqs:
            self.wrote(seq, n)
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or len(records) != len(seqs):
            return
        for seq, record in zip(seqs, records, strict=True):
            if isinstance(record, dict) and "data" in record and not record.get("id"):
                self.parts[seq] = record["data"]  # its part id was minted upstream
                continue
            if isinstance(record, dict) and record.get("id"):
                self.written_parts.add(str(record["id"]))
            try:
                [(headers, text)] = record_items([record], None)
            except (ApiError, TypeError, ValueError):
                continue
            self.put(seq, headers, text, exact=False)
