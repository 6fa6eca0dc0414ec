"""The records in an SSE v2 body (:mod:`mock_server.channels.sse`): each ``event: batch``
carries ``records[]`` of ``{seq_num, timestamp, headers, body}``; pings and batch
boundaries carry no records, and ``data: [DONE]`` ends a stream the server ended."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class StreamRecord:
    seq_num: int
    headers: tuple[tuple[str, str], ...]
    body: str


@dataclass(frozen=True, slots=True)
class StreamRead:
    records: list[StreamRecord]
    done: bool
    """The body ended with ``data: [DONE]`` (the server ended it, not the client)."""


def _record(raw: Any) -> StreamRecord | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("seq_num"), int):
        return None
    headers = raw.get("headers") or []
    pairs = tuple((str(h[0]), str(h[1])) for h in headers if isinstance(h, list) and len(h) == 2)
    body = raw.get("body")
    return StreamRecord(raw["seq_num"], pairs, body if isinstance(body, str) else "")


def read_stream(raw: bytes) -> StreamRead:
    """The records of every batch in ``raw``, in order; an event cut off at the end (a
    stream the client left) is ignored."""
    text = raw.decode("utf-8", "replace").replace("\r\n", "\n")
    records: list[StreamRecord] = []
    done = False
    for block in text.split("\n\n")[:-1]:
        event, data = "message", []
        for line in block.split("\n"):
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
        payload = "\n".join(data)
        if payload == "[DONE]":
            done = True
        elif event == "batch":
            try:
                parsed = orjson.loads(payload)
            except orjson.JSONDecodeError:
                continue
            found = parsed.get("records") if isinstance(parsed, dict) else None
            for item in found if isinstance(found, list) else []:
                record = _record(item)
                if record is not None:
                    records.append(record)
    return StreamRead(records, done)
