"""The served fake across its restarts, what the soak watches from outside it (its memory
and its state file), and reading back, through the control plane, what it holds."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from soak_checks import Observed, StreamKey

from mock_server.testing import ServedProcess, free_port

POLL = 0.02
"""Seconds between looks at the state file."""


class Served:
    """``trigger-mock serve`` on one port and one state file, started again as often as
    the soak needs."""

    def __init__(self, workdir: Path, args: list[str]) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.state = workdir / "state.json"
        self.args = args
        self.process: ServedProcess | None = None
        self.incarnation = 0
        self.logs: list[str] = []

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "mock_server", "serve", "--port", str(self.port),
            "--state-file", str(self.state), *self.args,
        ]  # fmt: skip

    def start(self) -> float:
        """Seconds until it answered."""
        self.process = ServedProcess(
            self.command(), self.port, name="trigger-mock serve", cwd=self.workdir,
            ready_path="/_mock/health",
        )  # fmt: skip
        self.incarnation += 1
        self.process.spawn()
        return self.process.wait_ready(timeout=120)

    def live_pid(self) -> int | None:
        process = self.process
        if process is None or process.process is None or process.process.poll() is not None:
            return None
        return process.pid

    def kill(self) -> None:
        assert self.process is not None and self.process.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.process.wait()
        self._keep_log()

    def stop(self) -> int | None:
        """SIGTERM; the exit status (after 15 s it is killed, which a clean stop never is)."""
        assert self.process is not None
        status = self.process.stop(signal.SIGTERM, timeout=15)
        self._keep_log()
        return status

    def _keep_log(self) -> None:
        assert self.process is not None
        self.logs.append(self.process.output())


def rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Monitor(threading.Thread):
    """Samples the server's RSS every second and notices each new state file (a write is
    a rename over the old one: a new inode), on a thread of its own so a busy event loop
    does not delay it."""

    def __init__(self, served: Served) -> None:
        super().__init__(name="soak-monitor", daemon=True)
        self.served = served
        self.rss: list[tuple[float, int, float]] = []
        """(monotonic time, incarnation, MiB)"""
        self.writes: list[tuple[float, int]] = []
        """(monotonic time, incarnation) of each state file seen for the first time"""
        self.halt = threading.Event()

    def run(self) -> None:
        last: tuple[int, int] | None = None
        next_sample = 0.0
        while not self.halt.wait(POLL):
            now = time.monotonic()
            try:
                found = os.stat(self.served.state)
                current: tuple[int, int] | None = (found.st_ino, found.st_mtime_ns)
            except OSError:
                current = None
            if current is not None and current != last:
                self.writes.append((now, self.served.incarnation))
            last = current
            if now >= next_sample:
                next_sample = now + 1.0
                pid = self.served.live_pid()
                mib = None if pid is None else rss_mib(pid)
                if mib is not None:
                    self.rss.append((now, self.served.incarnation, mib))


class ReadbackError(RuntimeError):
    pass


async def read_stream(client: httpx.AsyncClient, key: StreamKey) -> Observed:
    """Every record the server keeps on one stream, a page (1000 records or 1 MiB) at a
    time, and its tail."""
    secret, external_id, io, channel = key
    path = f"/_mock/sessions/{quote(external_id, safe='')}/{io}/records"
    params: dict[str, str] = {"environment": secret, "limit": "1000"}
    if channel:
        params["channel"] = channel
    records: dict[int, str] = {}
    while True:
        answer = await client.get(path, params=params, timeout=60)
        if answer.status_code != 200:
            raise ReadbackError(f"{path}: {answer.status_code} {answer.text[:200]}")
        page = answer.json()
        for record in page["records"]:
            records[record["seqNum"]] = record["body"]
        if not page["records"] or page["records"][-1]["seqNum"] >= page["tail"] - 1:
            return Observed(page["tail"], records)
        params["after"] = str(page["records"][-1]["seqNum"])


async def read_sessions(client: httpx.AsyncClient, secret: str) -> dict[str, dict[str, Any]]:
    """Every session of one environment that has an externalId, by it."""
    answer = await client.get("/_mock/sessions", params={"environment": secret}, timeout=60)
    if answer.status_code != 200:
        raise ReadbackError(f"/_mock/sessions: {answer.status_code} {answer.text[:200]}")
    return {
        row["externalId"]: row
        for environment in answer.json()["environments"]
        for row in environment["sessions"]
        if row["externalId"] is not None
    }


async def gathered(limit: int, jobs: list[Any]) -> list[Any]:
    """Runs the awaitables ``limit`` at a time, keeping their order."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Any) -> Any:
        async with gate:
            return await job

    return await asyncio.gather(*(one(job) for job in jobs))
