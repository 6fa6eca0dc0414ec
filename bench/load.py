"""Load from wrk: one scenario script against one server, read back as numbers."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from processes import SECRET_KEY

WRK_DIR = Path(__file__).resolve().parent / "wrk"


@dataclass(frozen=True)
class Load:
    threads: int = 2
    connections: int = 32
    seconds: float = 10.0
    warmup_seconds: float = 3.0


@dataclass(frozen=True)
class Result:
    requests: int
    req_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    per_thread: int
    """Requests the least busy wrk thread sent (close.lua closes what create.lua made)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def wrk(url: str, scenario: str, load: Load, *args: str, seconds: float | None = None) -> Result:
    """Runs ``wrk/<scenario>.lua`` and returns what its ``done`` printed."""
    duration = load.seconds if seconds is None else seconds
    command = [
        "wrk",
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{max(1, round(duration))}s",  # wrk takes whole seconds
        "--timeout",
        "10s",
        "-s",
        str(WRK_DIR / f"{scenario}.lua"),
        url,
        "--",
        *args,
    ]
    env = {**os.environ, "BENCH_WRK_DIR": str(WRK_DIR), "BENCH_SECRET_KEY": SECRET_KEY}
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    line = next((x for x in output.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result for {scenario}:\n{output}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    return Result(
        requests=raw["requests"],
        req_per_s=round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        non_2xx=raw["non_2xx"],
        socket_errors=raw["socket_errors"],
        per_thread=raw["per_thread"],
    )


def measured(
    url: str, scenario: str, load: Load, args: tuple[str, ...] = (), warm: tuple[str, ...] = ()
) -> tuple[Result, Result | None]:
    """A warm-up run with its own arguments (so it makes different sessions), then the
    measured one; both results, the warm-up's for the sessions it made."""
    warmup = None
    if load.warmup_seconds > 0:
        warmup = wrk(url, scenario, load, *warm, seconds=load.warmup_seconds)
    return wrk(url, scenario, load, *args), warmup
