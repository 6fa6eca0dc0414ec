"""After a replay against a fake: the target's sessions and channel records held against
the recording's end state (its ``seed.yaml``), through the control plane.

Each session of the seed is looked up by its id as the replay mapped it (else by
externalId) in ``GET /_mock/sessions?environment=KEY``; its fields and its ``.in`` and
``.out`` records (``GET /_mock/sessions/{id}/{io}/records``) must match as answers do
(:mod:`.comparison`). A closed session's ``.in`` may end with the close record its seed
entry leaves to ``close``; fillers for records the recording never saw match anything.
Sessions the target holds beyond the seed's are not reported.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote

import httpx

from ..channels.realtime import SESSION_CLOSED
from ..channels.streams import CONTROL_HEADER, envelope
from .comparison import compare_json, compare_records
from .eventstream import StreamRecord
from .idmap import IdMap
from .rebuild import FILLER

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
    """A seed's records as the fake stores them; a ``{data}`` part's id, minted when the
    seed is loaded, is a stand-in the comparison maps to whatever the target holds."""
    return [
        StreamRecord(
            n,
            tuple((h[0], h[1]) for h in item.get("headers", [])),
            item["body"] if "body" in item else envelope(item["data"], f"(part {n})"),
        )
        for n, item in enumerate(items)
    ]


async def compare_state(
    client: httpx.AsyncClient,
    base_url: str,
    seed: dict[str, Any],
    keys: dict[str, str],
    ids: IdMap,
) -> list[tuple[str, str]]:
    """``(where, what differs)`` for each difference."""
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
                found += await _compare_channel(
                    client, base_url, target_key, row, entry, io, ids, where
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
    for n, record in enumerate(expected):
        if (
            n < len(actual)
            and {"body": record.body, "headers": [list(h) for h in record.headers]} == FILLER
        ):
            actual[n] = record  # never seen: anything the target holds there will do
    return [(f"{where} .{io}", d) for d in compare_records(expected, actual, "records", ids)]
