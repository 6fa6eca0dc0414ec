"""What ``trigger-mock proxy`` adds to a request it passes on: retrieve, one at a time.

    python bench/proxy_overhead.py [--seconds 5] [--connections 1]

A served fake with one stored session, and a proxy in front of it. wrk's retrieve scenario
runs against the fake directly, then through the proxy, then both again, each for
``--seconds`` on ``--connections`` connections (one by default: the latency of a request
with nothing queued ahead of it). Reports each run's p50 and p99 and what the proxy adds
to the p50 (the median of the rounds). The target is at most 1 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import processes
from load import Load, wrk

from mock_server.testing import MockProxy

TARGET_ADDED_P50_MS = 1.0


def measure(seconds: float, connections: int, rounds: int = 2) -> dict[str, Any]:
    load = Load(threads=1, connections=connections, seconds=seconds, warmup_seconds=1)
    with tempfile.TemporaryDirectory() as work:
        seed = Path(work) / "seed.json"
        processes.write_seed(seed, 1)
        with (
            processes.trigger_mock("--seed-file", str(seed)) as fake,
            MockProxy(fake.base_url) as proxy,
        ):
            runs: dict[str, list[Any]] = {"direct": [], "proxied": []}
            for _ in range(rounds):
                for name, url in (("direct", fake.base_url), ("proxied", proxy.base_url)):
                    wrk(url, "retrieve", load, "stored-0", seconds=load.warmup_seconds)
                    runs[name].append(wrk(url, "retrieve", load, "stored-0"))
    added = [p.p50_ms - d.p50_ms for d, p in zip(runs["direct"], runs["proxied"], strict=True)]
    return {
        "connections": connections,
        "direct_p50_ms": statistics.median(r.p50_ms for r in runs["direct"]),
        "direct_p99_ms": statistics.median(r.p99_ms for r in runs["direct"]),
        "proxied_p50_ms": statistics.median(r.p50_ms for r in runs["proxied"]),
        "proxied_p99_ms": statistics.median(r.p99_ms for r in runs["proxied"]),
        "added_p50_ms": round(statistics.median(added), 3),
        "non_2xx": sum(r.non_2xx for rs in runs.values() for r in rs),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=1)
    options = parser.parse_args(argv)
    result = measure(options.seconds, options.connections)
    print(json.dumps(result, indent=2))
    return 0 if result["added_p50_ms"] <= TARGET_ADDED_P50_MS and not result["non_2xx"] else 1


if __name__ == "__main__":
    sys.exit(main())
