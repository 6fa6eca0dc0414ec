"""The servers a benchmark runs, each a :class:`mock_server.testing.ServedProcess` (the one
way this project serves anything): started on a free port, waited for, measured, stopped."""

from __future__ import annotations

import json
import statistics
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from mock_server.testing import MockServer, ServedProcess, free_port

__all__ = ["free_port"]

BENCH_DIR = Path(__file__).resolve().parent
SECRET_KEY = "tr_dev_bench0000000000"
CREATE_BODY = {
    "type": "chat.agent",
    "taskIdentifier": "my-chat-agent",
    "triggerConfig": {"basePayload": {"chatId": "bench-chat"}, "tags": ["chat"]},
    "tags": ["user:user_12345"],
}


def request(url: str, body: object = None, method: str | None = None) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    sent = urllib.request.Request(url, data=data, method=method)
    sent.add_header("Authorization", f"Bearer {SECRET_KEY}")
    sent.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(sent, timeout=5) as answer:
            return int(answer.status), answer.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants (npx runs Prism as a child)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        total += next(int(line.split()[1]) for line in status.splitlines() if line[:6] == "VmRSS:")
    return total


def prism(port: int) -> list[str]:
    binary = BENCH_DIR / "node_modules" / ".bin" / "prism"
    spec = BENCH_DIR.parent / "openapi.yaml"
    return [str(binary), "mock", "--port", str(port), "-v", "error", str(spec)]


def reference(port: int, stored: int = 0) -> list[str]:
    return [sys.executable, str(BENCH_DIR / "reference.py"), str(port), str(stored)]


def prism_version() -> str:
    package = BENCH_DIR / "node_modules" / "@stoplight" / "prism-cli" / "package.json"
    return str(json.loads(package.read_text())["version"]) if package.exists() else "missing"


def write_seed(path: Path, count: int, prefix: str = "stored") -> None:
    """A ``--seed-file`` of ``count`` sessions (JSON, which the fake reads fastest)."""
    sessions = [{**CREATE_BODY, "externalId": f"{prefix}-{n}"} for n in range(count)]
    path.write_text(json.dumps({"environments": {SECRET_KEY: {"sessions": sessions}}}))


def trigger_mock(*extra: str) -> MockServer:
    """``trigger-mock serve`` as shipped."""
    return MockServer(*extra)


def served(name: str, stored: int = 0, seed: Path | None = None) -> ServedProcess:
    """One of the compared servers, not yet started."""
    if name == "trigger-mock":
        return trigger_mock(*(() if seed is None else ("--seed-file", str(seed))))
    port = free_port()
    if name == "prism":  # npx runs Prism as a child: the whole group is stopped
        return ServedProcess(prism(port), port, cwd=BENCH_DIR, group=True)
    return ServedProcess(reference(port, stored), port, cwd=BENCH_DIR)


def rss_kib(server: ServedProcess) -> int:
    return tree_rss_kib(server.pid)


def first_created(server: ServedProcess) -> float:
    """Seconds from spawning ``server`` to its first ``201`` on create: the same request,
    sent again as soon as the port refuses it, for every server measured. It is stopped
    afterwards."""
    server.spawn()
    try:
        while True:
            if server.process is not None and server.process.poll() is not None:
                raise RuntimeError(f"{server.name} exited during cold start:\n{server.output()}")
            try:
                status, _ = request(server.base_url + "/api/v1/sessions", {**CREATE_BODY})
                if status == 201:
                    return time.monotonic() - server.started_at
            except OSError:
                time.sleep(0.002)
    finally:
        server.stop()


def cold_start() -> float:
    """Seconds from spawning ``trigger-mock serve`` to its first ``201`` on create."""
    return first_created(trigger_mock())


def reference_cold_start() -> float:
    """The same for the bare-ASGI reference (``bench/reference.py`` under uvicorn), started
    by the same Python."""
    return first_created(served("reference"))


def cold_starts(runs: int = 5) -> dict[str, float]:
    """Medians of ``runs`` cold starts of trigger-mock and of the reference, taken in turns
    (so a busy moment of the machine falls on both), and their ratio (target ≤ 2)."""
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(runs):
        ours.append(cold_start())
        theirs.append(reference_cold_start())
    mock, reference = statistics.median(ours), statistics.median(theirs)
    return {
        "cold_start_seconds": round(mock, 3),
        "reference_cold_start_seconds": round(reference, 3),
        "cold_start_ratio": round(mock / reference, 2),
        "cold_start_runs": runs,
    }
