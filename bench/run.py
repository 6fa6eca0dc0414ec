"""The benchmark: trigger-mock beside Prism and a bare-ASGI reference, in one run.

    python bench/run.py [--seconds 10] [--stored 100000] [--list-sizes 1000,100000,1000000]
                        [--readers 500] [--out bench/results] [--page docs/performance.md]

Every server gets the same wrk load (2 threads, 32 connections, 3 s warm-up) for create,
retrieve, a page of the list with ``--stored`` sessions stored, and close; the servers are
up together and each scenario runs on each of them in turn. Cold start
(spawn to the first 201 on create) is measured for trigger-mock and the reference, in
turns. trigger-mock alone is then measured for list latency from the smallest to the
largest stored count, resident memory per stored session, and one ``.out`` append fanned
out to ``--readers`` SSE readers. Writes ``latest.json`` and ``latest.md`` under
``--out``, and with ``--page`` puts the markdown between that page's benchmark markers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import processes
import proxy_overhead
import sse_fanout
import tables
from load import Load, Result, measured, wrk

from mock_server.testing import ServedProcess

SERVERS = ("trigger-mock", "prism", "reference")
COLD_STARTS = 9
"""Cold starts of each, in turns (their spread on a shared machine is about 0.1 s)."""


STEPS = ("create", "retrieve", "list", "close")


def step(name: str, url: str, load: Load, made: dict[str, int]) -> Result:
    """One scenario against one running server. ``made`` carries, from create to close,
    how many sessions each wrk thread made in the measured run and in its warm-up."""
    slack = 2 * load.connections  # requests in flight when wrk stopped may not exist
    if name == "create":
        create, warm = measured(url, "create", load, ("made",), ("warm",))
        made["made"] = max(create.per_thread - slack, 1)
        made["warm"] = max((warm.per_thread if warm else 0) - slack, 1)
        return create
    if name == "retrieve":
        return measured(url, "retrieve", load, ("stored-0",), ("stored-0",))[0]
    if name == "list":
        return measured(url, "list", load)[0]
    args = ("made", str(made["made"]))
    return measured(url, "close", load, args, ("warm", str(made["warm"])))[0]


def run_servers(names: list[str], stored: int, seed: Path, load: Load) -> dict[str, Any]:
    """Every server up at once, each scenario run on each in turn (create on all, then
    retrieve on all...): what the machine's load drifts by between runs then falls on
    every server alike, instead of on whichever ran last."""
    servers: dict[str, ServedProcess] = {}
    report: dict[str, Any] = {}
    made: dict[str, dict[str, int]] = {name: {} for name in names}
    try:
        for name in names:  # one at a time: each start alone, each port taken when chosen
            server = servers[name] = processes.served(name, stored, seed)
            server.spawn()
            ready = server.wait_ready(timeout=600)
            report[name] = {
                "ready_seconds": round(ready, 2),
                "rss_ready_mib": round(processes.rss_kib(server) / 1024, 1),
                "scenarios": {},
            }
        for scenario in STEPS:
            for name, server in servers.items():
                print(f"bench: {scenario} on {name}", file=sys.stderr)
                result = step(scenario, server.base_url, load, made[name])
                report[name]["scenarios"][scenario] = result.to_json()
        for name, server in servers.items():
            report[name]["rss_end_mib"] = round(processes.rss_kib(server) / 1024, 1)
    finally:
        for server in servers.values():
            server.stop()
    return report


def list_flatness(sizes: list[int], load: Load, work: Path) -> list[dict[str, Any]]:
    """List latency with each number of sessions stored, and the memory they take."""
    rows = []
    for size in sizes:
        seed = work / f"seed-{size}.json"
        processes.write_seed(seed, size)
        server = processes.served("trigger-mock", seed=seed)
        server.spawn()
        try:
            ready = server.wait_ready(timeout=600)
            rss = processes.rss_kib(server)
            result, _ = measured(server.base_url, "list", load)
        finally:
            server.stop()
            seed.unlink()
        rows.append(
            {"stored": size, "ready_seconds": round(ready, 2), "rss_kib": rss, **result.to_json()}
        )
    return rows


def per_session_kib(rows: list[dict[str, Any]]) -> float:
    """Resident memory each extra stored session costs, from the smallest to the largest."""
    low, high = rows[0], rows[-1]
    grown: int = high["rss_kib"] - low["rss_kib"]
    added: int = high["stored"] - low["stored"]
    return round(grown / added, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--list-sizes", default="1000,100000,1000000")
    parser.add_argument("--readers", type=int, default=500)
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--page", type=Path, default=None)
    options = parser.parse_args(argv)
    load = Load(seconds=options.seconds, warmup_seconds=options.warmup)
    sizes = [int(size) for size in options.list_sizes.split(",")]
    report: dict[str, Any] = {"machine": tables.machine(processes.prism_version()), "load": {
        "threads": load.threads, "connections": load.connections,
        "seconds": load.seconds, "warmup_seconds": load.warmup_seconds,
        "stored": options.stored}}  # fmt: skip
    with tempfile.TemporaryDirectory() as work_dir:
        work = Path(work_dir)
        seed = work / "seed.json"
        processes.write_seed(seed, options.stored)
        report["servers"] = run_servers(options.servers.split(","), options.stored, seed, load)
        print("bench: cold start, SSE fan-out, list sizes", file=sys.stderr)
        report.update(processes.cold_starts(COLD_STARTS))  # and the reference's, in turns
        report["sse_fan_out"] = fan_out(options.readers)
        print("bench: create with the limiter on, the proxy's added latency", file=sys.stderr)
        report["limiter_create"] = limiter_create(seed, load)
        report["proxy_retrieve"] = proxy_overhead.measure(5, 1)
        report["list_by_stored"] = list_flatness(sizes, Load(seconds=5, warmup_seconds=1), work)
        report["seeded_rss_kib_per_session"] = per_session_kib(report["list_by_stored"])
    memory = [sys.executable, str(Path(__file__).resolve().parent / "memory.py"), "100000"]
    report["memory"] = json.loads(subprocess.run(memory, capture_output=True, check=True).stdout)
    report["ratios"] = tables.ratios(report["servers"])
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    markdown = tables.markdown(report)
    (options.out / "latest.md").write_text(markdown)
    if options.page is not None:
        tables.put_in_page(options.page, markdown)
    print(markdown)
    return 0


def limiter_create(seed: Path, load: Load, rounds: int = 5) -> dict[str, Any]:
    """Creates per second with the rate limiter on (a budget nothing reaches, so every
    request is counted and none refused) and off: two servers up side by side, measured in
    turns, ``rounds`` each, and the medians compared (one run after the other drifted by
    as much as the difference looked for)."""
    seconds = max(2.0, load.seconds / rounds * 2)
    per_round = Load(load.threads, load.connections, seconds, warmup_seconds=0)
    with (
        processes.trigger_mock("--seed-file", str(seed)) as off,
        processes.trigger_mock("--seed-file", str(seed), "--rate-limit", "1000000000/60") as on,
    ):
        rates: dict[str, list[float]] = {"off": [], "on": []}
        for name, server in (("off", off), ("on", on)):  # warm both
            wrk(server.base_url, "create", per_round, f"limiter-warm-{name}", seconds=1.0)
        for n in range(rounds):
            for name, server in (("off", off), ("on", on)):
                result = wrk(server.base_url, "create", per_round, f"limiter-{name}-{n}")
                rates[name].append(result.req_per_s)
    medians = {name: statistics.median(values) for name, values in rates.items()}
    return {
        **medians,
        "rounds": rates,
        "ratio": round(medians["on"] / medians["off"], 3),
    }


def fan_out(readers: int) -> dict[str, float]:
    with processes.trigger_mock() as server:
        return asyncio.run(sse_fanout.fan_out(server.base_url, server.port, readers, 10))


if __name__ == "__main__":
    sys.exit(main())
