"""The soak's SSE readers: followers that hang up mid-stream, readers that never read
(some reset on hang-up), and the probe that opens readers until the reader cap answers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from dataclasses import dataclass

import httpx
from soak_load import stream_path
from soak_traffic import Session, Traffic


async def follower(t: Traffic) -> None:
    """Follows a channel for a moment, sometimes from an earlier record, and hangs up
    mid-stream."""
    while not t.stopping.is_set():
        session = t.pick()
        if session is None:
            await t.pause(0.2)
            continue
        headers = {"Timeout-Seconds": "5"}
        if t.random.random() < 0.5:
            headers["Last-Event-ID"] = str(t.random.randint(0, 50))
        io = "out" if t.random.random() < 0.7 else "in"
        path = stream_path(session.external_id, io, None)
        async with t.opened("subscribe", path, key=session.key, headers=headers) as answer:
            if isinstance(answer, httpx.Response) and answer.status_code == 200:
                batches, wanted = 0, t.random.randint(1, 6)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(t.random.uniform(0.3, 3.0)):
                        async for line in answer.aiter_lines():
                            batches += line.startswith("event: batch")
                            if batches >= wanted:
                                break
        await t.pause(0.1)


@dataclass(slots=True)
class RawReader:
    writer: asyncio.StreamWriter
    status: int


async def raw_reader(t: Traffic, port: int, session: Session, op: str) -> RawReader | None:
    """An SSE request on a socket with a tiny receive buffer, read only up to the
    answer's head: after that, the reader never reads."""
    await t.up.wait()
    start = time.monotonic()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 14)
        path = stream_path(session.external_id, "out", None)
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: soak\r\nAuthorization: Bearer {session.key}\r\n"
            f"Timeout-Seconds: 30\r\n\r\n".encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
        sock.close()
        t.tally.failed(op, error, start)
        return None
    status, headers = parse_head(head)
    t.tally.status(op, status, headers)
    return RawReader(writer, status)


def hang_up(reader: RawReader, *, reset: bool) -> None:
    sock = reader.writer.get_extra_info("socket")
    if reset and sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    reader.writer.transport.abort()


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


async def staller(t: Traffic, port: int) -> None:
    """Readers that never read, held a few seconds, half of them reset on hang-up."""
    while not t.stopping.is_set():
        session = t.pick()
        if session is None:
            await t.pause(0.2)
            continue
        held = await raw_reader(t, port, session, "subscribe (stalled)")
        if held is not None:
            await asyncio.sleep(t.random.uniform(1.0, 6.0))
            hang_up(held, reset=t.random.random() < 0.5)
        await t.pause(0.3)


async def reader_cap_probe(t: Traffic, port: int, cap: int, every: float) -> None:
    """Opens stalled readers until the reader cap answers (or ``cap + 3`` are open)."""
    while not t.stopping.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(t.stopping.wait(), every)
        held: list[RawReader] = []
        refused = False
        for _ in range(cap + 3):
            session = t.pick()
            if session is None or t.stopping.is_set():
                break
            reader = await raw_reader(t, port, session, "subscribe (cap probe)")
            if reader is None:
                break
            held.append(reader)
            if reader.status == 503:
                refused = True
                break
        else:
            # Other readers may have ended meanwhile (a timeout, a stall, a hang-up the
            # server noticed), freeing slots; only the server's own count shows a breach.
            answer = await t.call("control plane", "GET", "/_mock/health", gate=False)
            live = answer.json().get("liveReaders", 0) if isinstance(answer, httpx.Response) else 0
            outcome = "not refused" if live > cap else "not refused, others left"
            t.tally.probes["sse-readers"][outcome] += 1
        if refused:
            t.tally.probes["sse-readers"]["refused"] += 1
        await asyncio.sleep(0.5)
        for reader in held:
            hang_up(reader, reset=False)
