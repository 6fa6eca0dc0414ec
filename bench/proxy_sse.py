"""What ``trigger-mock proxy`` adds to each record of an event stream it passes on.

    python bench/proxy_sse.py [--records 2000] [--rate 100] [--size 200] [--warmup 50]

A served fake, and a proxy in front of it (``trigger-mock proxy --upstream …``, run as a
:class:`mock_server.testing.MockProxy`). One reader follows a session's ``.out`` on the fake
directly, another follows the same stream through the proxy. Records of ``--size`` bytes
are appended at a steady ``--rate`` per second (the API's append, straight to the fake).
For each record: the time from just before its append to the moment each reader has it.
Reports p50/p99/max of direct and proxied delivery, and of what the proxy adds (proxied
minus direct, record by record), and the CPU time the proxy spent per record; the first
``--warmup`` records are not counted. The target is an added p99 under 5 ms.

Both readers are ``httpx`` streams in this one process, so the client's own cost is the
same on both paths and drops out of the difference.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mock_server.testing import MockProxy, MockServer

KEY = "tr_dev_benchproxy"
AUTH = {"Authorization": f"Bearer {KEY}"}
SESSION = "proxied"
TARGET_ADDED_P99_MS = 5.0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(ordered[len(ordered) // 2], 3),
        "p99_ms": round(ordered[max(int(len(ordered) * 0.99) - 1, 0)], 3),
        "max_ms": round(ordered[-1], 3),
    }


async def follow(
    base_url: str, records: int, seen: dict[int, float], connected: asyncio.Event
) -> None:
    """Read ``.out`` from ``base_url`` until ``records`` records arrived, noting when each
    did."""
    headers = {**AUTH, "Timeout-Seconds": "120"}
    timeout = httpx.Timeout(10.0, read=None)
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=timeout) as client,
        client.stream("GET", f"/realtime/v1/sessions/{SESSION}/out", headers=headers) as stream,
    ):
        assert stream.status_code == 200, stream.status_code
        connected.set()
        async for line in stream.aiter_lines():
            if not line.startswith('data: {"records"'):
                continue
            now = time.perf_counter()
            for record in json.loads(line[6:])["records"]:
                seen[record["seq_num"]] = now
            if len(seen) >= records:
                return


async def append_steadily(base_url: str, records: int, rate: float, size: int) -> list[float]:
    """Append ``records`` records, one every ``1 / rate`` seconds; when each was sent."""
    body = json.dumps({"text": "x" * max(size - 12, 0)}).encode()
    sent: list[float] = []
    async with httpx.AsyncClient(base_url=base_url, headers=AUTH) as client:
        start = time.perf_counter()
        for n in range(records):
            sent.append(time.perf_counter())
            answer = await client.post(f"/realtime/v1/sessions/{SESSION}/out/append", content=body)
            assert answer.json()["seq"] == n, answer.text
            await asyncio.sleep(max(start + (n + 1) / rate - time.perf_counter(), 0))
    return sent


async def measure(fake: MockServer, proxy: MockProxy, options: argparse.Namespace) -> Any:
    async with httpx.AsyncClient(base_url=fake.base_url, headers=AUTH) as client:
        created = await client.post(
            "/api/v1/sessions",
            json={
                "type": "bench",
                "taskIdentifier": "t",
                "externalId": SESSION,
                "triggerConfig": {"basePayload": {}},
            },
        )
        assert created.status_code == 201, created.text
    direct: dict[int, float] = {}
    proxied: dict[int, float] = {}
    ready = [asyncio.Event(), asyncio.Event()]
    readers = [
        asyncio.create_task(follow(fake.base_url, options.records, direct, ready[0])),
        asyncio.create_task(follow(proxy.base_url, options.records, proxied, ready[1])),
    ]
    await asyncio.wait_for(asyncio.gather(*(event.wait() for event in ready)), 10)
    cpu_before = cpu_seconds(proxy.pid)
    sent = await append_steadily(fake.base_url, options.records, options.rate, options.size)
    await asyncio.wait_for(asyncio.gather(*readers), 30)
    proxy_cpu = cpu_seconds(proxy.pid) - cpu_before
    counted = range(options.warmup, options.records)
    direct_ms = [(direct[n] - sent[n]) * 1000 for n in counted]
    proxied_ms = [(proxied[n] - sent[n]) * 1000 for n in counted]
    added_ms = [(proxied[n] - direct[n]) * 1000 for n in counted]
    await asyncio.sleep(0.5)  # the proxy checks the stream once its reader has gone
    added = percentiles(added_ms)
    return {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "records": len(counted),
        "rate_per_second": options.rate,
        "record_bytes": options.size,
        "direct": percentiles(direct_ms),
        "proxied": percentiles(proxied_ms),
        "added": added,
        "added_p99_within_target": added["p99_ms"] < TARGET_ADDED_P99_MS,
        "proxy_cpu_us_per_record": round(proxy_cpu / options.records * 1e6),
        "proxy_summary": {
            key: value
            for key, value in proxy.summary().items()
            if key in ("exchanges", "violations", "byRule")
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=100.0, help="appends per second")
    parser.add_argument("--size", type=int, default=200, help="bytes per record body")
    parser.add_argument("--warmup", type=int, default=50, help="first records not counted")
    options = parser.parse_args(argv)
    if not 0 <= options.warmup < options.records:
        parser.error("--warmup must be below --records")
    with MockServer() as fake, MockProxy(fake.base_url) as proxy:
        result = asyncio.run(measure(fake, proxy, options))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
