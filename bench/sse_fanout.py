"""SSE fan-out and stalled readers, against a served fake.

    python bench/sse_fanout.py [READERS] [ROUNDS]

1. Fan-out: READERS (default 500) subscribers of one session's ``.out``; ROUNDS appends,
   each timed from just before the append to the moment each reader has the record.
   Reports p50/p99/max delivery latency over all (reader, append) pairs.
2. Stalled readers: the server's RSS after 64 MiB of records is appended with no reader,
   then after the same again with 20 readers that never read. Records are stored either
   way; the difference is what stalled readers cost the server.

Readers are raw asyncio sockets, to keep the client's own cost low on a small machine."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mock_server.testing import MockServer

KEY = "tr_dev_benchfanout"
AUTH = {"Authorization": f"Bearer {KEY}"}


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def open_reader(
    port: int, ref: str, *, last_event_id: int | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=4 << 20)
    extra = f"Last-Event-ID: {last_event_id}\r\n" if last_event_id is not None else ""
    writer.write(
        (
            f"GET /realtime/v1/sessions/{ref}/out HTTP/1.1\r\nHost: bench\r\n"
            f"Authorization: Bearer {KEY}\r\nTimeout-Seconds: 120\r\n{extra}\r\n"
        ).encode()
    )
    await writer.drain()
    await reader.readuntil(b"\r\n\r\n")
    return reader, writer


async def wait_for_seq(reader: asyncio.StreamReader, seq: int) -> float:
    while True:
        line = await reader.readline()
        if line.startswith(b'data: {"records"'):
            records = json.loads(line[6:])["records"]
            if any(r["seq_num"] >= seq for r in records):
                return time.perf_counter()


async def fan_out(base_url: str, port: int, readers: int, rounds: int) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=base_url, headers=AUTH) as client:
        body = {
            "type": "bench",
            "taskIdentifier": "t",
            "externalId": "fan",
            "triggerConfig": {"basePayload": {}},
        }
        await client.post("/api/v1/sessions", json=body)
        opened = [await open_reader(port, "fan") for _ in range(readers)]
        latencies: list[float] = []
        for round_ in range(rounds):
            waits = [asyncio.create_task(wait_for_seq(r, round_)) for r, _ in opened]
            await asyncio.sleep(0.2)
            started = time.perf_counter()
            await client.post("/realtime/v1/sessions/fan/out/append", content=b'{"round":1}')
            latencies += [(t - started) * 1000 for t in await asyncio.gather(*waits)]
        for _, writer in opened:
            writer.close()
    latencies.sort()
    return {
        "readers": readers,
        "appends": rounds,
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1),
        "max_ms": round(latencies[-1], 1),
    }


async def stalled(fake: MockServer, stalled_readers: int, mib: int) -> dict[str, float]:
    record = b"x" * (64 * 1024)

    async def fill(ref: str) -> None:
        async with httpx.AsyncClient(base_url=fake.base_url, headers=AUTH) as client:
            body = {
                "type": "bench",
                "taskIdentifier": "t",
                "externalId": ref,
                "triggerConfig": {"basePayload": {}},
            }
            await client.post("/api/v1/sessions", json=body)
            for _ in range(mib * 16):
                await client.post(f"/realtime/v1/sessions/{ref}/out/append", content=record)

    pid = fake.pid
    start = rss_mib(pid)
    await fill("alone")
    alone = rss_mib(pid) - start
    readers = [await open_reader(fake.port, "watched") for _ in range(stalled_readers)]
    before = rss_mib(pid)
    await fill("watched")
    await asyncio.sleep(1)
    watched = rss_mib(pid) - before
    for _, writer in readers:
        writer.close()
    return {
        "appended_mib": mib,
        "rss_growth_no_reader_mib": round(alone, 1),
        "stalled_readers": stalled_readers,
        "rss_growth_with_stalled_readers_mib": round(watched, 1),
        "cost_of_stalled_readers_mib": round(watched - alone, 1),
    }


async def main() -> None:
    readers = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    fake = MockServer("--log-level", "warning")
    fake.start()
    try:
        result = {
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
            "fan_out": await fan_out(fake.base_url, fake.port, readers, rounds),
            "stalled": await stalled(fake, 20, 64),
        }
    finally:
        fake.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
