"""After a replay against a fake: the target's sessions and channel records held against
the recording's end state (its ``seed.yaml``), through the control plane.

Each session of the seed is looked up by its id as the replay mapped it (else by
externalId) in ``GET /_mock/sessions?environment=KEY``; its fields and its ``.in`` and
``.out`` records (``GET /_mock/sessions/{id}/{io}/records``) must match as answers do
(:mod:`.comparison`). A closed session's ``.in`` may end with the close record its seed
entry leaves to ``close``; fillers for records the recording never saw match anything; a
trim record in the seed drops the records before it, as loading the seed does. On a
channel no recorded read showed, records past the seed's are not reported: the recording
cannot know what was written there after its own writes (an agent's reply, say).
Sessions the target holds beyond the seed's are not reported.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote

import httpx

from ..channels.realtime import SESSION_CLOSED
from ..channels.records import CONTROL_HEADER, TRIM_COMMAND, envelope
from .channelseen import FILLER
from .comparison import compare_json, compare_records
from .eventstream import StreamRecord
from .idmap import IdMap

FIELDS: Final = ("type", "taskIdentifier", "triggerConfig", "tags", "metadata")


def _expected_row(entry: dict[str, Any]) -> dict[str, Any]:
    row = {name: entry.get(name) for name in FIELDS}
    row["tags"] = row["tags"] or []
    row["externalId"] = entry.get("externalId")
    row["closed"] = "close" in entry
    row["closedReason"] = (entry.get("close") or {}).get("reason")
    if "currentRunId" in entry:
        row["currentRunId"] = entry["currentRunId"]
    return row


def _actual_row(row: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    found = {name: row.get(name) for name in expected if name != "closed"}
    found["closed"] = row.get("closedAt") is not None
    return found


def _records(items: list[Any]) -> list[StreamRecord]:
    """A seed's records as the fake keeps them: a trim record drops the records before its
    point, as it does when the seed is loaded; a ``{data}`` part's id, minted then, is a
    stand-in the comparison maps to whatever the target holds."""
    records = [
        StreamRecord(
            n,
            tuple((h[0], h[1]) for h in item.get("headers", [])),
            item["body"] if "body" in item else envelope(item["data"], f"(part {n})"),
        )
        for n, item in enumerate(items)
    ]
    points = [int(r.body) for r in records if r.headers == TRIM_COMMAND and r.body.isdigit()]
    return [r for r in records if r.seq_num >= max(points, default=0)]


async def compare_state(
    client: httpx.AsyncClient,
    base_url: str,
    seed: dict[str, Any],
    keys: dict[str, str],
    ids: IdMap,
    read: frozenset[tuple[str, str, str]] | None = None,
) -> list[tuple[str, str]]:
    """``(where, what differs)`` for each difference. ``read``: (key, session id, io) of
    the channels some recorded read showed; on the others the target's records past the
    seed's are not reported (``None``: every channel was read)."""
    found: list[tuple[str, str]] = []
    for key, env in (seed.get("environments") or {}).items():
        target_key = keys.get(key, key)
        answer = await client.get(f"{base_url}/_mock/sessions", params={"environment": target_key})
        rows = [r for e in answer.json().get("environments", []) for r in e.get("sessions", [])]
        for entry in env.get("sessions") or []:
            recorded_id = entry.get("id")
            wanted = ids.get(recorded_id) or recorded_id if recorded_id else None
            row = next((r for r in rows if r["id"] == wanted), None) or next(
                (
                    r
                    for r in rows
                    if entry.get("externalId") and r["externalId"] == entry["externalId"]
                ),
                None,
            )
            name = recorded_id or entry.get("externalId") or "a session"
            where = f"{key} {name}"
            if row is None:
                found.append((where, "missing on the target"))
                continue
            if recorded_id:
                wrong = ids.learn(recorded_id, row["id"])
                if wrong is not None:
                    found.append((where, wrong))
            expected = _expected_row(entry)
            found += [
                (where, d)
                for d in compare_json(expected, _actual_row(row, expected), "session", ids)
            ]
            for io in ("in", "out"):
                seen = read is None or not recorded_id or (key, recorded_id, io) in read
                found += await _compare_channel(
                    client, base_url, target_key, row, entry, io, ids, where, seen=seen
                )
    return found


async def _compare_channel(
    client: httpx.AsyncClient,
    base_url: str,
    key: str,
    row: dict[str, Any],
    entry: dict[str, Any],
    io: str,
    ids: IdMap,
    where: str,
    *,
    seen: bool,
) -> list[tuple[str, str]]:
    path = f"{base_url}/_mock/sessions/{quote(row['id'], safe='')}/{io}/records"
    answer = await client.get(path, params={"environment": key})
    got = answer.json().get("records", []) if answer.status_code == 200 else []
    actual = [
        StreamRecord(r["seqNum"], tuple((h[0], h[1]) for h in r.get("headers", [])), r["body"])
        for r in got
    ]
    expected = _records(list((entry.get("channels") or {}).get(io) or []))
    closing = io == "in" and "close" in entry and len(actual) == len(expected) + 1
    if closing and (CONTROL_HEADER, SESSION_CLOSED) in actual[-1].headers:
        actual.pop()
    if not seen:  # the recording never looked: what came after its writes is unknown to it
        actual = actual[: len(expected)]
    for n, record in enumerate(expected):
        if (
            n < len(actual)
            and {"body": record.body, "headers": [list(h) for h in record.headers]} == FILLER
        ):
            actual[n] = record  # never seen: anything the target holds there will do
    return [(f"{where} .{io}", d) for d in compare_records(expected, actual, "records", ids)]
