"""What the contract suite runs against: a URL, a `trigger-mock serve` it starts, or the
fake in-process.

A target is written as ``https://api.example`` (any running implementation),
``serve:documented`` / ``serve:deployed`` (start the fake as a real subprocess on a free
port, the way a user would) or ``inprocess:documented`` / ``inprocess:deployed`` (the fake's
ASGI app inside the test process, no network).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Literal

import httpx

Kind = Literal["url", "serve", "inprocess"]
FIDELITIES = ("documented", "deployed")


@dataclass(frozen=True, slots=True)
class TargetSpec:
    kind: Kind
    value: str  # the URL, or the fidelity the fake is started with

    @classmethod
    def parse(cls, text: str) -> TargetSpec:
        text = text.strip()
        if text.startswith(("http://", "https://")):
            return cls("url", text.rstrip("/"))
        kind, _, fidelity = text.partition(":")
        if kind in ("serve", "inprocess") and fidelity in FIDELITIES:
            return cls(kind, fidelity)  # type: ignore[arg-type]
        raise ValueError(
            f"not a contract target: {text!r} (a URL, serve:documented, serve:deployed, "
            "inprocess:documented or inprocess:deployed)"
        )

    @property
    def id(self) -> str:
        return self.value if self.kind == "url" else f"{self.kind}-{self.value}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServedFake:
    """`python -m mock_server serve ARGS` as a child process, on a free port."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        # A file, not a pipe: a pipe nobody reads until the end would fill up and stall
        # the server the moment it logs more than the pipe holds.
        self._log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 (lives with the process)
        self.process = subprocess.Popen(
            self.command(*args),
            env={**os.environ, **(env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def command(self, *args: str) -> list[str]:
        port = ["--port", str(self.port), "--s2-port", "0"]
        return [sys.executable, "-m", "mock_server", "serve", *port, *args]

    @classmethod
    def for_contract(cls, fidelity: str) -> ServedFake:
        """The fake as the contract suite runs it: checking its own responses."""
        return cls("--fidelity", fidelity, "--validate-responses", "--log-level", "warning")

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"trigger-mock serve exited early:\n{self.output()}")
            try:
                if httpx.get(f"{self.base_url}/_mock/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"trigger-mock serve did not answer on {self.base_url}")

    def stop(self, sig: int | None = None, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            if sig is None:
                self.process.terminate()
            else:
                self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    def output(self) -> str:
        """What the server printed, once it has exited."""
        if self.process.poll() is None:
            return ""
        self._log.seek(0)
        return self._log.read()
