"""Reading a channel as Server-Sent Events, in the wire format v2 the SDK expects.

The real server proxies S2's read session, so the events are S2's:

- ``event: batch`` with ``id: <next seq>,<records so far>,<bytes so far>`` and
  ``data: {"records":[{seq_num,timestamp,headers,body}…],"tail":{seq_num,timestamp}}``;
- ``event: ping`` with ``data: {"tail":…,"timestamp":ms}`` while nothing arrives;
- ``data: [DONE]`` and the end of the body once ``Timeout-Seconds`` pass with no new
  record.

A reader holds only its position in the channel. It reads the next batch when the last
one has been handed to the transport, so a reader that stops reading stops costing
anything but the socket's own buffer. Records that aged out meanwhile are not sent
(:mod:`.retention`); a position before the oldest record kept reads from that record.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Final

from ..core.jsoncodec import dump_json
from .errors import BadTimeoutSeconds
from .records import Record
from .streams import Channel, ChannelStore

DEFAULT_TIMEOUT_SECONDS: Final = 60
MAX_TIMEOUT_SECONDS: Final = 600


def parse_timeout_seconds(raw: str | None) -> int | None:
    """``Timeout-Seconds`` as the server reads it: a whole number from 1 to 600."""
    if raw is None or raw == "":
        return None
    try:
        value = float(raw.strip()) if raw.strip() else float("nan")
    except ValueError:
        raise BadTimeoutSeconds() from None
    if value != value or value in (float("inf"), float("-inf")) or not value.is_integer():
        raise BadTimeoutSeconds()
    if value < 1:
        raise BadTimeoutSeconds("Timeout seconds must be greater than 0")
    if value > MAX_TIMEOUT_SECONDS:
        raise BadTimeoutSeconds("Timeout seconds must be less than 600")
    return int(value)


def parse_last_event_id(raw: str | None) -> int | None:
    """Where a resumed read starts: one past the ``Last-Event-ID`` sequence number.

    The server reads the digits before any ``-``; anything else restarts from the top.
    """
    if not raw:
        return None
    head = raw.split("-")[0].strip()
    if not head.isdigit() or not head.isascii():
        return None
    return int(head) + 1


def _tail(channel: Channel) -> bytes:
    last = channel.records[-1].timestamp if channel.records else 0
    return dump_json({"seq_num": channel.tail, "timestamp": last})


@dataclass
class Follow:
    """One reader's walk along a channel."""

    channels: ChannelStore
    channel: Channel
    position: int
    timeout: float
    ping_every: float
    now_ms: Callable[[], int]
    count: int = 0
    size: int = 0
    limit: int | None = None
    """Records to send before the stream is cut short (an injected fault); ``cut`` says
    it was."""
    cut: bool = False
    _reading: bool = False
    """Counted among the live readers (from :meth:`join` until :meth:`leave`)."""

    def batch_event(self, records: list[Record]) -> bytes:
        self.count += len(records)
        body = b",".join(r.wire for r in records)
        self.size += len(body)
        self.position = records[-1].seq_num + 1
        data = b'{"records":[' + body + b'],"tail":' + _tail(self.channel) + b"}"
        event_id = f"{self.position},{self.count},{self.size}".encode()
        return b"event: batch\nid: " + event_id + b"\ndata: " + data + b"\n\n"

    def ping_event(self) -> bytes:
        data = b'{"tail":' + _tail(self.channel) + b',"timestamp":%d}' % self.now_ms()
        return b"event: ping\ndata: " + data + b"\n\n"

    def join(self) -> None:
        """Count this reader as live from now (the handler does, as it admits it, so a
        burst of readers cannot pass ``max_sse_readers`` before their streams start); it
        also keeps the stream from being forgotten."""
        if not self._reading:
            self._reading = True
            self.channels.reader_joined(1, self.channel)

    def leave(self) -> None:
        if self._reading:
            self._reading = False
            self.channels.reader_joined(-1, self.channel)

    def __del__(self) -> None:
        # A response that was never sent (its client left first) never ran :meth:`events`.
        self.leave()

    async def events(self) -> AsyncIterator[bytes]:
        self.join()
        try:
            async for event in self._events():
                yield event
        finally:
            self.leave()

    async def _events(self) -> AsyncIterator[bytes]:
        now = time.monotonic()
        quiet_until, next_ping = now + self.timeout, now + self.ping_every
        while True:
            if self.limit is not None and self.count >= self.limit:
                self.cut = True
                return
            records = self.channels.read(self.channel, self.position)
            if not records and self.channel.tail > self.position:
                # Every record from here to the tail is gone (age, a trim, the memory
                # budget): wait for the next one, or a wait would return at once, forever.
                self.position = self.channel.tail
            if records and self.limit is not None:
                records = records[: self.limit - self.count]
            now = time.monotonic()
            if records:
                yield self.batch_event(records)
                quiet_until = now + self.timeout
            elif now >= quiet_until or self.channels.closing:
                yield b"data: [DONE]\n\n"
                return
            elif now >= next_ping:
                yield self.ping_event()
                next_ping = now + self.ping_every
            else:
                wake_at = min(quiet_until, next_ping)
                await self.channels.wait(self.channel, self.position, wake_at - now)
