"""``--record DIR``: what passed through the proxy, kept with its secrets redacted.

The proxy hands the :class:`Recorder` each exchange once it is complete; :meth:`close`
writes, in ``DIR``:

- ``cassette.yaml``: the exchanges in request order, in VCR.py's format
  (:mod:`.cassette`), every secret replaced by its placeholder (:mod:`.redaction`);
- ``seed.yaml``: a ``--seed-file`` rebuilding the sessions and channel records seen, as
  last seen (:mod:`.rebuild`), under the placeholder keys;
- ``start.yaml``, when the recording used sessions it did not create: those sessions as
  first seen, the state a replay starts from (also kept in the cassette).

Exchanges the upstream never answered, and requests the proxy refused itself, are not
recorded; an answer the upstream broke off (a stream cut short) is, marked ``cut``.
Nothing is written before :meth:`close`.
"""

from __future__ import annotations

import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..control.seeding import Seed, SeedFileError
from ..core.specs import api_spec_path, load_spec
from ..core.times import iso_ms
from .cassette import Cassette, Interaction
from .channelseen import FILLER
from .exchange import Exchange, Headers
from .owners import Owners, credential_of, is_root_key
from .rebuild import Rebuilder, SeenSession, seed_records
from .redaction import Redactor, is_key_placeholder
from .seedentry import session_entry

CASSETTE = "cassette.yaml"
SEED = "seed.yaml"
START = "start.yaml"


@dataclass(frozen=True)
class RecordingSummary:
    directory: Path
    cassette: Path
    seed: Path | None
    """``None`` when the recording saw no session and no restricted key."""
    start: Path | None
    interactions: int
    sessions: int
    records: int
    left_out: int
    """Exchanges not recorded: never answered, or answered by the proxy itself."""
    notes: tuple[str, ...]

    def lines(self) -> list[str]:
        lines = [
            f"recorded {self.interactions} exchanges, {self.sessions} sessions, "
            f"{self.records} channel records in {self.directory}"
        ]
        if self.left_out:
            lines.append(f"left out {self.left_out} exchanges the upstream did not answer")
        return lines + [f"note: {note}" for note in self.notes]


def _decoded(raw: bytes, headers: Headers) -> tuple[bytes, Headers]:
    """A body without its ``Content-Encoding`` (gzip, deflate), and its headers to match."""
    encoding = next((v for k, v in headers if k == "content-encoding"), "").strip().lower()
    if encoding not in ("gzip", "deflate"):
        return raw, headers
    try:
        plain = zlib.decompress(raw, wbits=47)
    except zlib.error:
        return raw, headers
    return plain, [(k, v) for k, v in headers if k not in ("content-encoding", "content-length")]


def redact(exchange: Exchange, redactor: Redactor, upstream: str, first_ms: int) -> Interaction:
    """The exchange as the cassette keeps it: decoded bodies, every secret replaced."""
    request_body, request_headers = _decoded(
        exchange.request_body.bytes(), exchange.request_headers
    )
    response_body, response_headers = _decoded(
        exchange.response_body.bytes(), exchange.response_headers
    )
    query = redactor.text(exchange.query)
    return Interaction(
        number=exchange.number,
        offset_ms=exchange.at_ms - first_ms,
        method=exchange.method.upper(),
        uri=upstream + redactor.text(exchange.path) + (f"?{query}" if query else ""),
        request_headers=[(k, redactor.header(k, v)) for k, v in request_headers],
        request_body=redactor.data(request_body),
        status=exchange.status,
        response_headers=[(k, redactor.header(k, v)) for k, v in response_headers],
        response_body=redactor.data(response_body),
        operation=exchange.operation,
        latency_ms=exchange.latency_ms,
        complete=exchange.request_body.complete and exchange.response_body.complete,
        cut=exchange.upstream_error is not None,
    )


def seed_documents(
    interactions: list[Interaction], owners: Owners, now_ms: int
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, list[str]]:
    """The end and start seed documents (``None`` when empty), and notes on what they
    could not keep."""
    rebuilt = Rebuilder(owners)
    rebuilt.read(interactions)
    end: dict[str, Any] = {}
    start: dict[str, Any] = {}
    for seen in rebuilt.sessions.values():
        for document, at_start in ((end, False), (start, True)):
            if at_start and seen.created_here:
                continue
            entry = _entry(rebuilt, seen, at_start, now_ms)
            env = document.setdefault(seen.key, {"sessions": []})
            env["sessions"].append(entry)
    used = {c for i in interactions if (c := credential_of(i)) and is_key_placeholder(c)}
    for key in sorted(k for k in used if not is_root_key(k)):
        root = owners.environment(key)
        if root is None or key not in owners.scopes:
            rebuilt.note(f"restricted key {key}: its scopes are not known; declare it with "
                         f"--secret-key {key}=SCOPES")  # fmt: skip
            continue
        for document in (end, start):
            env = document.setdefault(root, {"sessions": []})
            env.setdefault("restrictedKeys", {})[key] = owners.scopes[key]
    return (
        {"environments": end} if end else None,
        {"environments": start} if start else None,
        rebuilt.notes,
    )


def _entry(rebuilt: Rebuilder, seen: SeenSession, at_start: bool, now_ms: int) -> dict[str, Any]:
    row = dict(seen.first_row if at_start else seen.row)
    row.setdefault("triggerConfig", seen.row.get("triggerConfig"))
    closed = row.get("closedAt") is not None
    channels = {}
    for io in ("in", "out"):
        channel = rebuilt.records_of(seen, io)
        records = seed_records(
            channel, below=channel.first_write if at_start else None, closed=closed, io=io
        )
        if records:
            channels[io] = records
        if FILLER in records:
            rebuilt.note(f"{row['id']}.{io}: records the recording never saw are fillers")
        if any("data" in record for record in records):
            rebuilt.note(f"{row['id']}.{io}: parts whose id the upstream minted get new ids")
        if channel.trims and not at_start:
            rebuilt.note(f"{row['id']}.{io}: a later read no longer showed records, so they "
                         "were trimmed; the seed trims them too, its trim record numbered "
                         "after the last record seen")  # fmt: skip
    return session_entry(row, channels, now_ms, rebuilt.note)


class Recorder:
    """Collects exchanges; :meth:`close` writes the recording."""

    def __init__(self, directory: Path, upstream: str) -> None:
        self.directory = directory
        self.upstream = upstream.rstrip("/")
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []
        self._summary: RecordingSummary | None = None

    def add(self, exchange: Exchange) -> None:
        """Keep a completed exchange (in any order: they are sorted when written)."""
        with self._lock:
            if self._summary is None:
                self._exchanges.append(exchange)

    def close(self) -> RecordingSummary:
        """Write the files (once: a second call returns the first call's summary)."""
        with self._lock:
            if self._summary is None:
                self._summary = self._write(self._exchanges)
                self._exchanges = []
            return self._summary

    def _write(self, exchanges: list[Exchange]) -> RecordingSummary:
        kept = sorted(  # an answer the upstream broke off is kept, marked ``cut``
            (e for e in exchanges if e.status and not e.local),
            key=lambda e: (e.at_ms, e.number),
        )
        redactor = Redactor()
        for exchange in kept:  # first every S2 token, so each is redacted wherever it is
            redactor.learn(exchange.response_headers, exchange.response_json())
        first_ms = kept[0].at_ms if kept else 0
        interactions = [redact(e, redactor, self.upstream, first_ms) for e in kept]
        owners = Owners(redactor.claims)
        owners.learn(interactions)
        now_ms = max((e.at_ms + int(e.latency_ms) for e in kept), default=0)
        end, start, notes = seed_documents(interactions, owners, now_ms)
        meta = {
            "upstream": self.upstream,
            "recorded_at": iso_ms(first_ms) if kept else None,
            "placeholders": {"keys": redactor.keys, "jwt": redactor.claims},
            "environments": owners.subs,
            "start": start,
            "notes": notes,
        }
        self.directory.mkdir(parents=True, exist_ok=True)
        cassette = self.directory / CASSETTE
        Cassette(interactions, meta).write(cassette)
        seed = self._seed_file(SEED, end, notes)
        start_path = self._seed_file(START, start, notes)
        sessions = sum(len(env["sessions"]) for env in (end or {}).get("environments", {}).values())
        records = sum(
            len(records)
            for env in (end or {}).get("environments", {}).values()
            for entry in env["sessions"]
            for records in (entry.get("channels") or {}).values()
        )
        return RecordingSummary(
            self.directory, cassette, seed, start_path, len(interactions), sessions, records,
            len(exchanges) - len(kept), tuple(notes),
        )  # fmt: skip

    def _seed_file(
        self, name: str, document: dict[str, Any] | None, notes: list[str]
    ) -> Path | None:
        path = self.directory / name
        if document is None:
            path.unlink(missing_ok=True)
            return None
        path.write_text(
            yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
        try:
            Seed.load(path, load_spec(api_spec_path()))
        except SeedFileError as exc:
            notes.append(f"{name} does not load as a seed file: {exc}")
        return path
