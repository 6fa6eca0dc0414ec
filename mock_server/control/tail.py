"""Reading a session's channels from the control plane, for a live view: the records after
a position (waiting for the next one if asked), and the streams a session has.

A session is named as the API's channel routes name it (:meth:`Realtime.target`): an
externalId without a row reads its (maybe empty) stream, an unknown ``session_…`` id is a
404. A waiting read parks on the stream as a live reader does (:meth:`ChannelStore.wait`),
so the event loop stays free and the next append wakes it.
"""

from __future__ import annotations

import json
from typing import Any, Final

from ..channels.realtime import IN, Realtime
from ..channels.records import Record, StreamKey
from ..core.times import iso_ms
from ..sessions.errors import SessionNotFound

MAX_RECORDS: Final = 1000


def record_wire(record: Record) -> dict[str, Any]:
    """A record as the control plane shows it; ``data`` when the body is the envelope the
    server writes for an appended part (``{"data":…,"id":…}``)."""
    stored = json.loads(record.wire)
    body = stored["body"]
    row: dict[str, Any] = {
        "seqNum": record.seq_num,
        "timestamp": iso_ms(record.timestamp),
        "headers": stored["headers"],
        "body": body,
    }
    if body.startswith("{"):
        try:
            parsed = json.loads(body)
        except ValueError:
            return row
        if isinstance(parsed, dict) and parsed.keys() == {"data", "id"}:
            row["data"] = parsed["data"]
    return row


async def read_records(
    realtime: Realtime,
    env_id: str,
    ref: str,
    io: str,
    channel: str | None = None,
    *,
    after: int | None = None,
    wait: float = 0,
    limit: int = MAX_RECORDS,
) -> dict[str, Any]:
    """``{"records": […], "tail": N}``: the records with a sequence number above ``after``
    (all kept ones without it), oldest first, at most ``limit`` (and one read's worth of
    bytes). With ``wait`` seconds and nothing newer yet, waits for the next append first."""
    target = realtime.target(env_id, ref, io, channel, not_found=SessionNotFound)
    streams = realtime.channels
    start = 0 if after is None else after + 1
    found = streams.peek(env_id, target.stream)
    if wait > 0 and (found is None or found.tail <= start):
        found = streams.channel(env_id, target.stream)  # kept while someone waits on it
        await streams.wait(found, start, wait)
    if found is None:
        return {"records": [], "tail": 0}
    records = streams.read(found, start)[:limit]
    return {"records": [record_wire(r) for r in records], "tail": found.tail}


def session_streams(realtime: Realtime, env_id: str, ref: str) -> list[dict[str, Any]]:
    """The streams of the session ``ref`` names: its ``.in``/``.out`` and side channels
    that something has touched and that are not forgotten, with tail and record count."""
    key = realtime.target(env_id, ref, IN, None, not_found=SessionNotFound).stream.key
    found = [
        (stream, channel)
        for stream, channel in realtime.channels.streams(env_id).items()
        if stream.key == key
    ]
    found.sort(key=lambda pair: _order(pair[0]))
    return [
        {"io": s.io, "channel": s.channel, "tail": c.tail, "records": len(c.records)}
        for s, c in found
    ]


def _order(stream: StreamKey) -> tuple[bool, str, str]:
    return stream.channel is not None, stream.channel or "", stream.io
