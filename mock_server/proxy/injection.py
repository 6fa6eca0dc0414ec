"""Records a recording saw that no recorded request wrote, written again for a replay.

The SDK's ``.out`` writer talks to the upstream's S2 directly, past the proxy, so what it
writes is in no recorded request; the reads through the proxy showed it. A replay has no
such writer, so against a fake it writes those records through the control plane
(``POST /_mock/sessions/{session}/{io}/records``, in the ``{body, headers}`` forms, so the
stored bytes are the ones read) just before the first recorded read that showed them,
with the trims a read tells of (:meth:`.channelseen.SeenChannel.infer_trims`), and with
fillers for numbers below them that nothing showed (as the seed file has).

Not written: records a recorded request wrote (its answer gave their number, they carry a
part id a request sent, or a recorded close wrote them), records of the start state (the
replay's fake starts with them), and, when the target runs an agent, the ``.out`` records
of sessions the recording sent chat messages to: the agent writes its turns again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, unquote

import httpx
import orjson

from ..channels.realtime import SESSION_CLOSED
from ..channels.records import CONTROL_HEADER
from .cassette import Cassette, Interaction
from .channelseen import FILLER, SeenChannel, part_id_of
from .idmap import IdMap
from .owners import Owners
from .rebuild import CHANNEL_PATH, Rebuilder, SeenSession

CREATE_PATH: Final = "/api/v1/sessions"
_CLOSE: Final = re.compile(r"^/api/v1/sessions/(?P<ref>[^/]+)/close$")


@dataclass(frozen=True, slots=True)
class Injection:
    index: int
    """The read it goes before."""
    key: str
    """The environment's (placeholder) key."""
    ref: str
    """The session's recorded id."""
    io: str
    records: tuple[dict[str, Any], ...]
    first_seq: int

    @property
    def path(self) -> str:
        return f"/_mock/sessions/{quote(self.ref, safe='')}/{self.io}/records"

    def describe(self) -> str:
        last = self.first_seq + len(self.records) - 1
        span = str(self.first_seq) if last == self.first_seq else f"{self.first_seq}-{last}"
        return f"{self.ref}.{self.io} records {span}"


@dataclass(frozen=True, slots=True)
class Observed:
    """What a replay needs to know of the recording's channels."""

    injections: dict[int, list[Injection]]
    """Interaction index → what to write before it."""
    read: frozenset[tuple[str, str, str]]
    """(key, session id, io) of every channel some recorded read showed."""


def _message(value: Any) -> bool:
    """Whether a record's data is a chat message (which an agent answers)."""
    if isinstance(value, str) and value.startswith("{"):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return False
    return isinstance(value, dict) and value.get("kind") == "message"


def _closed(rebuilt: Rebuilder, interactions: list[Interaction]) -> set[tuple[str, str]]:
    """(key, session id) of each session a recorded request closed (a close writes the
    ``session-closed`` record on ``.in``)."""
    found: set[tuple[str, str]] = set()
    for i in interactions:
        matched = _CLOSE.match(i.path)
        key = rebuilt.owners.of(i) if matched and 200 <= i.status < 300 else None
        seen = None if key is None or not matched else rebuilt.find(key, unquote(matched["ref"]))
        if seen is not None:
            found.add((seen.key, seen.row["id"]))
    return found


def _chatting(rebuilt: Rebuilder, interactions: list[Interaction]) -> set[tuple[str, str]]:
    """(key, session id) of each session the recording sent a chat message to, on ``.in``
    or in its create's ``basePayload``."""
    found: set[tuple[str, str]] = set()
    for i in interactions:
        key = rebuilt.owners.of(i)
        if key is None or i.method != "POST" or not 200 <= i.status < 300:
            continue
        body = i.request_json()
        if i.path == CREATE_PATH and isinstance(body, dict):
            answer = i.response_json()
            payload = (body.get("triggerConfig") or {}).get("basePayload")
            chat = isinstance(payload, dict) and payload.get("trigger") == "submit-message"
            if chat and isinstance(answer, dict) and isinstance(answer.get("id"), str):
                found.add((key, answer["id"]))
            continue
        matched = CHANNEL_PATH.match(i.path)
        if matched is None or matched["io"] != "in" or matched["side"]:
            continue
        sent: list[Any]
        if matched["op"] == "append":
            sent = [i.request_body.decode("utf-8", "replace")]
        else:
            records = body.get("records") if isinstance(body, dict) else None
            sent = [r.get("data") for r in records or [] if isinstance(r, dict)]
        seen = rebuilt.find(key, unquote(matched["ref"]))
        if seen is not None and any(_message(m) for m in sent):
            found.add((key, seen.row["id"]))
    return found


def _record(channel: SeenChannel, seq: int) -> dict[str, Any]:
    headers, body, _ = channel.records[seq]
    record: dict[str, Any] = {"body": body}
    if headers:
        record["headers"] = [list(h) for h in headers]
    return record


def _plan(seen: SeenSession, io: str, channel: SeenChannel, *, closed: bool) -> list[Injection]:
    below = None if seen.created_here else channel.first_write

    def in_start(seq: int) -> bool:
        """Whether the start state holds it (a session the recording did not create)."""
        return not seen.created_here and (below is None or seq < below)

    def closing(seq: int) -> bool:
        """Whether it is the record a recorded close wrote."""
        return closed and io == "in" and (CONTROL_HEADER, SESSION_CLOSED) in channel.records[seq][0]

    planned: set[int] = set()
    shown: set[int] = set()
    found = []
    for read in channel.reads:
        wanted = [
            s
            for s in read.seqs
            if s not in planned
            and s not in channel.written
            and not in_start(s)
            and not closing(s)
            and part_id_of(channel.records[s][1]) not in channel.written_parts
        ]
        wanted += [t.seq for t in channel.trims if t.index == read.index]
        if wanted:
            wanted.sort()
            earlier = {s for s, at in channel.written.items() if at < read.index}
            low = max(shown | planned | earlier, default=-1) + 1
            gap = [s for s in range(low, wanted[0]) if s not in channel.records and not in_start(s)]
            records = [dict(FILLER) for _ in gap] + [_record(channel, s) for s in wanted]
            first = gap[0] if gap else wanted[0]
            found.append(Injection(read.index, seen.key, seen.row["id"], io, tuple(records), first))
            planned |= set(gap) | set(wanted)
        shown |= set(read.seqs)
    return found


def observe(cassette: Cassette, *, agent: bool) -> Observed:
    """The records to write before each read, and which channels the recording read;
    ``agent``: the target answers chat messages itself."""
    owners = Owners(cassette.claims)
    owners.learn(cassette.interactions)
    rebuilt = Rebuilder(owners)
    rebuilt.read(cassette.interactions)
    chatting = _chatting(rebuilt, cassette.interactions) if agent else set()
    closed = _closed(rebuilt, cassette.interactions)
    injections: dict[int, list[Injection]] = {}
    read: set[tuple[str, str, str]] = set()
    for seen in rebuilt.sessions.values():
        for io in ("in", "out"):
            channel = rebuilt.records_of(seen, io)
            if channel.reads:
                read.add((seen.key, seen.row["id"], io))
            if io == "out" and (seen.key, seen.row["id"]) in chatting:
                continue
            shut = (seen.key, seen.row["id"]) in closed
            for injection in _plan(seen, io, channel, closed=shut):
                injections.setdefault(injection.index, []).append(injection)
    return Observed(injections, frozenset(read))


async def write(
    client: httpx.AsyncClient,
    base_url: str,
    injection: Injection,
    ids: IdMap,
    keys: dict[str, str],
) -> str | None:
    """Write an injection's records to a fake, ids as the replay mapped them; what went
    wrong, if anything."""
    records = [
        {
            **record,
            "body": ids.apply(record["body"]),
            **({"headers": [[k, ids.apply(v)] for k, v in record["headers"]]}
               if "headers" in record else {}),
        }
        for record in injection.records
    ]  # fmt: skip
    path = ids.apply(injection.path)
    body = {"environment": keys.get(injection.key, injection.key), "records": records}
    try:
        answer = await client.post(base_url + path, json=body)
        seqs = answer.json().get("seqNums") if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        return f"writing {injection.describe()}: no answer ({type(exc).__name__})"
    if not isinstance(seqs, list) or not seqs:
        return f"writing {injection.describe()}: status {answer.status_code}"
    if seqs[0] != injection.first_seq:
        return f"writing {injection.describe()}: written from {seqs[0]} on"
    return None
