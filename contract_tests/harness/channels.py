"""Speaking to a session's channels: appends, drains, and Server-Sent Events read to the
end of the stream (each test asks for a short ``Timeout-Seconds``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from .client import ContractApi


def channel_path(ref: str, io: str, channel: str | None = None, suffix: str = "") -> str:
    named = f"/channels/{quote(channel, safe='')}" if channel else ""
    return f"/realtime/v1/sessions/{quote(ref, safe='')}{named}/{io}{suffix}"


async def append(
    api: ContractApi,
    ref: str,
    io: str,
    text: str,
    *,
    part_id: str | None = None,
    credential: str | None = None,
    channel: str | None = None,
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if part_id is not None:
        headers["X-Part-Id"] = part_id
    return await api.request(
        "POST",
        channel_path(ref, io, channel, "/append"),
        content=text.encode(),
        headers=headers,
        credential=credential,
    )


async def records(
    api: ContractApi,
    ref: str,
    io: str,
    *,
    after: int | None = None,
    credential: str | None = None,
    channel: str | None = None,
) -> httpx.Response:
    params = {} if after is None else {"afterEventId": str(after)}
    return await api.request(
        "GET", channel_path(ref, io, channel, "/records"), params=params, credential=credential
    )


@dataclass
class Event:
    event: str | None
    id: str | None
    data: str

    def json(self) -> Any:
        return json.loads(self.data)


def parse_events(text: str) -> list[Event]:
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, list[str]] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields.setdefault(name, []).append(value[1:] if value.startswith(" ") else value)
        if fields:
            ids = fields.get("id")
            events.append(
                Event(
                    fields.get("event", [None])[0],
                    ids[0] if ids else None,
                    "\n".join(fields.get("data", [])),
                )
            )
    return events


@dataclass
class Followed:
    response: httpx.Response
    events: list[Event]

    @property
    def records(self) -> list[dict[str, Any]]:
        """Every record of every batch, in order."""
        return [r for e in self.events if e.event == "batch" for r in e.json()["records"]]

    @property
    def seq_nums(self) -> list[int]:
        return [r["seq_num"] for r in self.records]


async def follow(
    api: ContractApi,
    ref: str,
    io: str,
    *,
    timeout_seconds: int = 1,
    headers: dict[str, str] | None = None,
    credential: str | None = None,
    channel: str | None = None,
) -> Followed:
    """Read the SSE stream until the server ends it."""
    sent = {"Accept": "text/event-stream", "Timeout-Seconds": str(timeout_seconds)}
    sent.update(headers or {})
    response = await api.request(
        "GET", channel_path(ref, io, channel), headers=sent, credential=credential
    )
    events = parse_events(response.text) if response.status_code == 200 else []
    return Followed(response, events)


def body_of(record: dict[str, Any]) -> Any:
    """The ``{"data","id"}`` envelope inside an SSE record's body."""
    return json.loads(record["body"])
