"""The servers a benchmark runs: started on a free port, waited for, measured, stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from contract_tests.targets import free_port

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


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    started_at: float

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 600.0) -> float:
        """Seconds from start until the server answers any HTTP request."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}")
            try:
                request(self.url + "/_mock/health")
                return time.monotonic() - self.started_at
            except OSError:
                time.sleep(0.005)
        raise RuntimeError(f"{self.name} did not answer within {timeout} s")

    def rss_kib(self) -> int:
        return tree_rss_kib(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start(name: str, command: list[str], port: int) -> Server:
    log = tempfile.TemporaryFile()  # noqa: SIM115 (lives with the process)
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, cwd=BENCH_DIR, start_new_session=True
    )
    return Server(name, process, port, time.monotonic())


def trigger_mock(port: int, *extra: str) -> list[str]:
    serve = ["serve", "--port", str(port), "--s2-port", "-1", "--log-level", "warning"]
    return [sys.executable, "-m", "mock_server", *serve, *extra]


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


def cold_start(port: int) -> float:
    """Seconds from spawning ``trigger-mock serve`` to its first ``201`` on create."""
    server = start("trigger-mock", trigger_mock(port), port)
    try:
        while True:
            if server.process.poll() is not None:
                raise RuntimeError("trigger-mock exited during cold start")
            try:
                status, _ = request(server.url + "/api/v1/sessions", {**CREATE_BODY})
                if status == 201:
                    return time.monotonic() - server.started_at
            except OSError:
                time.sleep(0.002)
    finally:
        server.stop()
