"""The sessions and channel records a recording saw, rebuilt as seed documents
(``--seed-file``'s format, :mod:`mock_server.control.seeding`).

Sessions come from every session row in a JSON answer (create, retrieve, list, update,
close, the control plane's rows), the last one seen winning field by field, and from
end-and-continue's ``runId``. Records come from what the recording saw of each channel
(:mod:`.channelseen`): reads, appends and the control plane's writes, and the trims the
reads tell of.

Two documents: the *end* state (every session as last seen, with its records) and the
*start* state (the sessions the recording used before creating them, as first seen, with
the records numbered below the first write it recorded to their channels).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs, unquote

from ..channels.realtime import IN, SESSION_CLOSED
from ..channels.records import CONTROL_HEADER
from .cassette import Interaction
from .channelseen import FILLER, SeenChannel
from .owners import Owners

CHANNEL_PATH: Final = re.compile(
    r"^/(?:realtime/v1|_mock)/sessions/(?P<ref>[^/]+)(?:/channels/(?P<side>[^/]+))?"
    r"/(?P<io>in|out)(?:/(?P<op>append|records))?$"
)
_CONTINUE: Final = re.compile(r"^/api/v1/sessions/(?P<ref>[^/]+)/end-and-continue$")

ChannelKey = tuple[str, str, str]
"""(root key, the URL's session ref, io): the session's own channels only."""


@dataclass
class SeenSession:
    key: str
    created_here: bool
    first_row: dict[str, Any]
    row: dict[str, Any]
    first_seen: int


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
            if not i.complete:
                continue
            key = self.owners.of(i)
            if not 200 <= i.status < 300:
                if key is not None and i.path.endswith("/append"):
                    self._records(n, i, key)  # a refused append may have stored its part
                continue
            if key is None and i.path != "/_mock/sessions":  # its blocks name environments
                if CHANNEL_PATH.match(i.path) or _rows(i.response_json()):
                    self.note(f"#{n} {i.method} {i.path}: its environment is not known; left out")
                continue
            self._sessions(n, i, key)
            if key is not None:
                self._records(n, i, key)

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

    def _records(self, n: int, i: Interaction, key: str) -> None:
        found = CHANNEL_PATH.match(i.path)
        if found is None:
            return
        side = found["side"] or parse_qs(i.query).get("channel", [None])[0]
        if side is not None:
            self.note(f"side channel {unquote(side)!r}: a seed file has no side channels; left out")
            return
        channel = self.channels.setdefault((key, unquote(found["ref"]), found["io"]), SeenChannel())
        channel.saw(n, i, found["op"], found["io"], control=i.path.startswith("/_mock/"))

    # --- the session's channels -------------------------------------------------------------

    def records_of(self, seen: SeenSession, io: str) -> SeenChannel:
        """Everything seen on a session's own channel, under either name of the session,
        with the trims the reads tell of (:meth:`SeenChannel.infer_trims`)."""
        merged = SeenChannel()
        names = {seen.row["id"], seen.row.get("externalId")}
        for (key, ref, chan_io), channel in self.channels.items():
            if key == seen.key and chan_io == io and ref in names:
                merged.merge(channel)
        merged.infer_trims()
        return merged


def seed_records(channel: SeenChannel, *, below: int | None, closed: bool, io: str) -> list[Any]:
    """A channel's records in the control plane's ``{body, headers}`` form, numbered from 0
    (gaps filled with :data:`FILLER`), up to ``below`` (the start state: then without the
    trims the recording found, which happened while it ran). A closed session's trailing
    close record on ``.in`` is left to the seed's ``close``, which writes it again."""
    inferred = set() if below is None else {t.seq for t in channel.trims}
    known = (set(channel.records) | set(channel.parts)) - inferred
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
