"""The sessions and channel records a recording saw, rebuilt as seed documents
(``--seed-file``'s format, :mod:`mock_server.control.seeding`).

Sessions come from every session row in a JSON answer (create, retrieve, list, update,
close, the control plane's rows), the last one seen winning field by field, and from
end-and-continue's ``runId``. Records come from SSE reads and the control plane's record
reads, byte for byte, and, where no read showed a sequence number, from ``records`` reads,
API appends and the control plane's writes, rebuilt as the server stores them.

Two documents: the *end* state (every session as last seen, with its records) and the
*start* state (the sessions the recording used before creating them, as first seen, with
the records numbered below the first write it recorded to their channels).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qs, unquote

from ..channels.realtime import IN, SESSION_CLOSED
from ..channels.sanitize import strip_client_webhook_source
from ..channels.streams import CONTROL_HEADER, envelope
from ..control.records import record_items
from ..core.errors import ApiError
from .cassette import Interaction
from .eventstream import read_stream
from .owners import Owners

_CHANNEL: Final = re.compile(
    r"^/(?:realtime/v1|_mock)/sessions/(?P<ref>[^/]+)(?:/channels/(?P<side>[^/]+))?"
    r"/(?P<io>in|out)(?:/(?P<op>append|records))?$"
)
_CONTINUE: Final = re.compile(r"^/api/v1/sessions/(?P<ref>[^/]+)/end-and-continue$")
FILLER: Final = {"body": "", "headers": [["", "fence"]]}
"""What stands for a record the recording never saw (an S2 command record, which
readers of ``records`` skip), so the numbers after it stay as recorded."""

Headers = tuple[tuple[str, str], ...]
ChannelKey = tuple[str, str, str]
"""(root key, the URL's session ref, io): the session's own channels only."""


@dataclass
class SeenSession:
    key: str
    created_here: bool
    first_row: dict[str, Any]
    row: dict[str, Any]
    first_seen: int


@dataclass
class SeenChannel:
    records: dict[int, tuple[Headers, str, bool]] = field(default_factory=dict)
    """seq → (headers, body, exact)."""
    first_write: int | None = None
    parts: dict[int, Any] = field(default_factory=dict)
    """seq → the data of a part whose id the upstream minted and no read showed: the seed
    writes it as ``{data}``, so it gets a part id of its own."""

    def put(self, seq: int, headers: Headers, body: str, *, exact: bool) -> None:
        if exact or seq not in self.records:
            self.records[seq] = (headers, body, exact)

    def wrote(self, seq: int) -> None:
        self.first_write = seq if self.first_write is None else min(self.first_write, seq)


def _is_row(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("id"), str)
        and value["id"].startswith("session_")
        and "taskIdentifier" in value
    )


def _rows(value: Any, env_id: str | None = None) -> list[tuple[str | None, dict[str, Any]]]:
    """Every session row in a JSON answer, with the environment id a control-plane
    environment block names."""
    if _is_row(value):
        return [(env_id, value)]
    if isinstance(value, dict):
        block = value.get("id") if isinstance(value.get("sessions"), list) else None
        return [r for v in value.values() for r in _rows(v, block or env_id)]
    if isinstance(value, list):
        return [r for v in value for r in _rows(v, env_id)]
    return []


class Rebuilder:
    """Reads a recording's interactions (in order) into sessions and channels."""

    def __init__(self, owners: Owners) -> None:
        self.owners = owners
        self.sessions: dict[tuple[str, str], SeenSession] = {}
        self.channels: dict[ChannelKey, SeenChannel] = {}
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def read(self, interactions: list[Interaction]) -> None:
        for n, i in enumerate(interactions):
            if not (200 <= i.status < 300 and i.complete):
                continue
            key = self.owners.of(i)
            if key is None and i.path != "/_mock/sessions":  # its blocks name environments
                if _CHANNEL.match(i.path) or _rows(i.response_json()):
                    self.note(f"#{n} {i.method} {i.path}: its environment is not known; left out")
                continue
            self._sessions(n, i, key)
            if key is not None:
                self._records(i, key)

    def _sessions(self, n: int, i: Interaction, key: str | None) -> None:
        answer = i.response_json()
        created = i.method == "POST" and i.path == "/api/v1/sessions" and i.status == 201
        for env_id, row in _rows(answer):
            owner = key if env_id is None else self.owners.subs.get(env_id, key)
            if owner is None:
                continue
            seen = self.sessions.get((owner, row["id"]))
            if seen is None:
                first = dict(row)
                seen = SeenSession(owner, created, first, dict(row), n)
                self.sessions[(owner, row["id"])] = seen
            seen.row.update({k: v for k, v in row.items() if k != "status"})
        found = _CONTINUE.match(i.path)
        if (
            found
            and key is not None
            and isinstance(answer, dict)
            and isinstance(answer.get("runId"), str)
        ):
            seen = self.find(key, unquote(found["ref"]))
            if seen is not None:
                seen.row["currentRunId"] = answer["runId"]

    def find(self, key: str, ref: str) -> SeenSession | None:
        """The session a URL names, by id or externalId."""
        found = self.sessions.get((key, ref))
        if found is not None:
            return found
        matches = [s for s in self.sessions.values() if s.key == key]
        return next((s for s in matches if s.row.get("externalId") == ref), None)

    def _records(self, i: Interaction, key: str) -> None:
        found = _CHANNEL.match(i.path)
        if found is None:
            return
        side = found["side"] or parse_qs(i.query).get("channel", [None])[0]
        if side is not None:
            self.note(f"side channel {unquote(side)!r}: a seed file has no side channels; left out")
            return
        channel = self.channels.setdefault((key, unquote(found["ref"]), found["io"]), SeenChannel())
        op, control = found["op"], i.path.startswith("/_mock/")
        if op is None and i.method == "GET" and i.is_event_stream:
            for record in read_stream(i.response_body).records:
                channel.put(record.seq_num, record.headers, record.body, exact=True)
        elif op == "records" and i.method == "GET":
            self._read_records(i, channel, exact=control)
        elif op == "append" and i.method == "POST":
            self._appended(i, channel, found["io"])
        elif op == "records" and i.method == "POST" and control:
            self._written(i, channel)

    def _read_records(self, i: Interaction, channel: SeenChannel, *, exact: bool) -> None:
        answer = i.response_json()
        for view in answer.get("records", []) if isinstance(answer, dict) else []:
            seq, raw_headers = view.get("seqNum"), view.get("headers") or []
            if not isinstance(seq, int):
                continue
            headers = tuple((str(h[0]), str(h[1])) for h in raw_headers if len(h) == 2)
            if exact and isinstance(view.get("body"), str):
                channel.put(seq, headers, view["body"], exact=True)
            elif view.get("id"):  # a part: the stored envelope, rebuilt
                channel.put(seq, headers, envelope(view.get("data"), view["id"]), exact=False)
            elif any(name == CONTROL_HEADER for name, _ in headers):
                channel.put(seq, headers, "", exact=False)

    def _appended(self, i: Interaction, channel: SeenChannel, io: str) -> None:
        answer = i.response_json()
        seq = answer.get("seq") if isinstance(answer, dict) else None
        part_id = i.request_header("x-part-id")
        if not isinstance(seq, int):
            return
        channel.wrote(seq)
        text = i.request_body.decode("utf-8", "replace")
        text = strip_client_webhook_source(text) if io == IN else text
        if part_id:
            channel.put(seq, (), envelope(text, part_id), exact=False)
        else:
            channel.parts[seq] = text

    def _written(self, i: Interaction, channel: SeenChannel) -> None:
        body, answer = i.request_json(), i.response_json()
        seqs = answer.get("seqNums") if isinstance(answer, dict) else None
        if not isinstance(seqs, list) or not seqs:
            return
        channel.wrote(min(seqs))
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or len(records) != len(seqs):
            return
        for seq, record in zip(seqs, records, strict=True):
            if isinstance(record, dict) and "data" in record and not record.get("id"):
                channel.parts[seq] = record["data"]  # its part id was minted upstream
                continue
            try:
                [(headers, text)] = record_items([record], None)
            except (ApiError, TypeError, ValueError):
                continue
            channel.put(seq, headers, text, exact=False)

    # --- the session's channels -------------------------------------------------------------

    def records_of(self, seen: SeenSession, io: str) -> SeenChannel:
        """Every record seen on a session's own channel, under either name of the session."""
        merged = SeenChannel()
        names = {seen.row["id"], seen.row.get("externalId")}
        for (key, ref, chan_io), channel in self.channels.items():
            if key == seen.key and chan_io == io and ref in names:
                for seq, (headers, body, exact) in channel.records.items():
                    merged.put(seq, headers, body, exact=exact)
                merged.parts.update(channel.parts)
                if channel.first_write is not None:
                    merged.wrote(channel.first_write)
        return merged


def seed_records(channel: SeenChannel, *, below: int | None, closed: bool, io: str) -> list[Any]:
    """A channel's records in the control plane's ``{body, headers}`` form, numbered from 0
    (gaps filled with :data:`FILLER`), up to ``below``. A closed session's trailing close
    record on ``.in`` is left to the seed's ``close``, which writes it again."""
    known = set(channel.records) | set(channel.parts)
    seqs = [s for s in sorted(known) if below is None or s < below]
    if not seqs:
        return []
    out: list[Any] = []
    for seq in range(seqs[-1] + 1):
        found = channel.records.get(seq)
        if found is None and seq in channel.parts:
            out.append({"data": channel.parts[seq]})
            continue
        if found is None:
            out.append(dict(FILLER))
            continue
        headers, body, _ = found
        record: dict[str, Any] = {"body": body}
        if headers:
            record["headers"] = [list(h) for h in headers]
        out.append(record)
    last = channel.records.get(seqs[-1])
    if closed and io == IN and last is not None and (CONTROL_HEADER, SESSION_CLOSED) in last[0]:
        out.pop()
    return out
