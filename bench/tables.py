"""What a benchmark run reports: the machine, the ratios, and the markdown for
``docs/performance.md``."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

TIMES = "\u00d7"  # the multiplication sign
PAGE_START = "<!-- bench:start -->"
PAGE_END = "<!-- bench:end -->"
TARGETS = {
    "create_vs_prism": 3.0,
    "create_vs_reference": 0.4,
    "retrieve_vs_prism": 3.0,
    "retrieve_vs_reference": 0.3,
    "list_vs_prism": 3.0,
    "list_vs_reference": 0.3,
    "close_vs_prism": 3.0,
    "close_vs_reference": 0.3,
}
COLD_START_TARGET = 2.0
"""At most this many times the reference's seconds from spawn to the first 201."""


def _version(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except OSError:
        return "missing"
    return (done.stdout or done.stderr).strip().splitlines()[0]


def machine(prism_version: str) -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "node": _version(["node", "--version"]),
        "wrk": _version(["wrk", "--version"]).split(" [")[0],
        "prism": prism_version,
    }


def ratios(servers: dict[str, Any]) -> dict[str, float | None]:
    def rate(server: str, scenario: str) -> float | None:
        found = servers.get(server, {}).get("scenarios", {}).get(scenario)
        return None if found is None else float(found["req_per_s"])

    result: dict[str, float | None] = {}
    for scenario in ("create", "retrieve", "list", "close"):
        ours = rate("trigger-mock", scenario)
        for other in ("prism", "reference"):
            theirs = rate(other, scenario)
            key = f"{scenario}_vs_{other}"
            result[key] = None if not ours or not theirs else round(ours / theirs, 2)
    return result


def _cell(value: float | None, suffix: str = "") -> str:
    return "—" if value is None else f"{value:,.2f}{suffix}".replace(".00", "")


def markdown(report: dict[str, Any]) -> str:
    servers = report["servers"]
    m = report["machine"]
    load = report["load"]
    lines = [
        f"Run {m['date']} on {m['cores']} cores ({m['cpu']}), Python {m['python']}, "
        f"Prism {m['prism']}, {m['wrk']}; wrk -t{load['threads']} -c{load['connections']}, "
        f"{load['seconds']:g} s after {load['warmup_seconds']:g} s of warm-up, "
        f"{load['stored']:,} sessions stored.",
        "",
        "| scenario | server | req/s | p50 ms | p99 ms | non-2xx |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for scenario in ("create", "retrieve", "list", "close"):
        for name, server in servers.items():
            r = server["scenarios"][scenario]
            lines.append(
                f"| {scenario} | {name} | {r['req_per_s']:,.0f} | {r['p50_ms']:.1f} "
                f"| {r['p99_ms']:.1f} | {r['non_2xx']} |"
            )
    lines += ["", "| ratio (req/s) | measured | target |", "|---|---:|---:|"]
    for key, value in report["ratios"].items():
        target = TARGETS.get(key)
        lines.append(
            f"| {key} | {_cell(value, TIMES)} | {_cell(target, TIMES) if target else ''} |"
        )
    lines += [
        "",
        "| server | RSS ready MiB | RSS after load MiB |",
        "|---|---:|---:|",
        *(
            f"| {name} | {s['rss_ready_mib']:,.1f} | {s['rss_end_mib']:,.1f} |"
            for name, s in servers.items()
        ),
        "",
        "| trigger-mock list, sessions stored | req/s | p50 ms | p99 ms | RSS MiB (with seed) |",
        "|---:|---:|---:|---:|---:|",
        *(
            f"| {row['stored']:,} | {row['req_per_s']:,.0f} | {row['p50_ms']:.1f} "
            f"| {row['p99_ms']:.1f} | {row['rss_kib'] / 1024:,.0f} |"
            for row in report["list_by_stored"]
        ),
        "",
        f"- Resident memory per session made by `POST /api/v1/sessions`: "
        f"{report['memory']['rss_bytes_per_session']:,} bytes (`bench/memory.py`, "
        f"{report['memory']['sessions']:,} sessions; target ≤ 1.1 KB). Loaded from a seed "
        f"file, {report['seeded_rss_kib_per_session'] * 1024:,.0f} bytes: the seed's own "
        "entries are kept for `/_mock/reset`.",
        f"- Cold start to the first 201 on create: {report['cold_start_seconds']:.2f} s; the "
        f"reference (bare uvicorn) {report['reference_cold_start_seconds']:.2f} s, "
        f"{_cell(report['cold_start_ratio'], TIMES)} (medians of "
        f"{report.get('cold_start_runs', 5)} each, in turns; target "
        f"≤ {_cell(COLD_START_TARGET, TIMES)}).",
        f"- With the rate limiter on: {report['limiter_create']['on']:,.0f} creates/s against "
        f"{report['limiter_create']['off']:,.0f} off "
        f"({report['limiter_create']['ratio']:.0%}; target ≥ 90%; medians of "
        f"{len(report['limiter_create'].get('rounds', {}).get('on', [])) or 1} rounds in turns).",
        f"- The proxy's added latency on a retrieve, one at a time: p50 "
        f"{report['proxy_retrieve']['added_p50_ms']:.2f} ms (target ≤ 1 ms; "
        "`bench/proxy_overhead.py`).",
        f"- One `.out` append to {report['sse_fan_out']['readers']} SSE readers: p50 "
        f"{report['sse_fan_out']['p50_ms']} ms, p99 {report['sse_fan_out']['p99_ms']} ms "
        "(target p99 < 100 ms).",
    ]
    return "\n".join(lines) + "\n"


def put_in_page(page: Path, table: str) -> None:
    text = page.read_text(encoding="utf-8")
    start, end = text.index(PAGE_START), text.index(PAGE_END)
    page.write_text(text[: start + len(PAGE_START)] + "\n" + table + text[end:], encoding="utf-8")
