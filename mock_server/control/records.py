"""Records written as the task would write them: from the control plane
(``POST /_mock/sessions/{session}/{io}/records``) and from seed files, so a test can play
the task precisely."""

from __future__ import annotations

from typing import Any

from ..channels.agent import Agent
from ..channels.realtime import Realtime, control_headers
from ..channels.records import Headers, StreamKey, envelope
from ..core.errors import BadControlRequest
from ..core.ids import IdSource


def record_items(records: Any, ids: IdSource | None) -> list[tuple[Headers, str]]:
    """Records written as the task would (control plane, seed files): each one of
    ``{"data": any}`` (stored as ``{"data":…,"id":…}``, with ``id`` or a fresh part id),
    ``{"control": subtype}`` or ``{"body": text}``, each with optional extra ``headers``.
    ``ids`` ``None`` checks the forms only."""
    if not isinstance(records, list):
        raise ValueError("expected a list of records")
    items: list[tuple[Headers, str]] = []
    for n, record in enumerate(records):
        forms = [k for k in ("data", "control", "body") if isinstance(record, dict) and k in record]
        if len(forms) != 1:
            raise BadControlRequest(f"records[{n}]: give exactly one of data, control, body")
        raw_headers = record.get("headers", [])
        if not isinstance(raw_headers, list) or not all(
            isinstance(h, list) and len(h) == 2 and all(isinstance(x, str) for x in h)
            for h in raw_headers
        ):
            raise BadControlRequest(f"records[{n}].headers: expected [[name, value], …]")
        extra: Headers = tuple((h[0], h[1]) for h in raw_headers)
        if "data" in record:
            part_id = record.get("id") or (ids.nanoid(7) if ids is not None else "")
            items.append((extra, envelope(record["data"], str(part_id))))
        elif "control" in record:
            items.append((control_headers(str(record["control"]), extra), ""))
        elif isinstance(record["body"], str):
            items.append((extra, record["body"]))
        else:
            raise BadControlRequest(f"records[{n}].body: expected text")
    return items


def write_records(
    realtime: Realtime,
    agent: Agent,
    env_id: str,
    ref: str,
    io: str,
    request: dict[str, Any],
) -> list[int]:
    """Append a control-plane request's records to the channel ``ref`` names (a session's
    id or externalId, or a key no session has yet); their sequence numbers. The request
    gives ``records``, or ``text`` for a whole assistant turn (ending in a
    ``turn-complete`` unless ``turnComplete`` is false); ``channel`` names a side channel."""
    if ("text" in request) == ("records" in request):
        raise BadControlRequest("Give exactly one of text and records")
    found = realtime.sessions.lookup(env_id, ref)
    key = ref if found is None else found.addressing_key
    if "records" in request:
        items = record_items(request["records"], agent.ids)
    else:
        items = agent.text_turn(request["text"])
        if request.get("turnComplete", True):
            items.append(agent.turn_complete(env_id, key, request.get("inEventId")))
    added = realtime.append_records(env_id, StreamKey(key, io, request.get("channel")), items)
    return [record.seq_num for record in added]
