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


def _block(block: str) -> tuple[list[StreamRecord], bool]:
    """The records of one SSE event, and whether it is ``data: [DONE]``."""
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
        return [], True
    if event != "batch":
        return [], False
    try:
        parsed = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return [], False
    found = parsed.get("records") if isinstance(parsed, dict) else None
    records = [_record(item) for item in (found if isinstance(found, list) else [])]
    return [r for r in records if r is not None], False


def read_stream(raw: bytes) -> StreamRead:
    """The records of every batch in ``raw``, in order; an event cut off at the end (a
    stream the client left) is ignored."""
    text = raw.decode("utf-8", "replace").replace("\r\n", "\n")
    records: list[StreamRecord] = []
    done = False
    for block in text.split("\n\n")[:-1]:
        found, ended = _block(block)
        records += found
        done = done or ended
    return StreamRead(records, done)


class StreamCounter:
    """Counts the records of an SSE v2 body as its chunks come, each event read once."""

    def __init__(self) -> None:
        self._pending = b""
        self.records = 0
        self.done = False

    def feed(self, chunk: bytes) -> int:
        """Take the next chunk; the records seen so far."""
        self._pending += chunk
        *blocks, self._pending = self._pending.replace(b"\r\n", b"\n").split(b"\n\n")
        for block in blocks:
            found, ended = _block(block.decode("utf-8", "replace"))
            self.records += len(found)
            self.done = self.done or ended
        return self.records
