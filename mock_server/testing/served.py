"""Serving the fake (or any server program) in a child process, the one way this project
does it: for the pytest fixtures, the contract suite's served targets, the tests that
need a real process, and the benchmarks.

Only the standard library is used, so the fixtures load in any project that installs
trigger-mock, whatever else it has.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from .handle import TriggerMock


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def new_secret_key() -> str:
    """A fresh ``tr_dev_…`` key: each key is its own environment on the fake."""
    return "tr_dev_" + secrets.token_hex(12)


class ServedProcess:
    """A server program in a child process, listening on ``port``.

    Its output goes to a file, not a pipe: a pipe nobody reads until the end fills up and
    freezes the server the moment it logs more than the pipe holds. ``group`` starts it in
    a process group of its own and stops the whole group (for launchers such as ``npx``).
    """

    def __init__(
        self,
        command: Sequence[str],
        port: int,
        *,
        name: str | None = None,
        env: dict[str, str] | None = None,
        cwd: str | Path | None = None,
        group: bool = False,
        ready_path: str = "/",
    ) -> None:
        self.command = list(command)
        self.name = name or Path(self.command[0]).name
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self._env = env
        self._cwd = cwd
        self._group = group
        self._ready_path = ready_path
        self._log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
        self.process: subprocess.Popen[str] | None = None
        self.started_at = 0.0

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def spawn(self) -> None:
        """Start the process without waiting for it to answer."""
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            self.command,
            env={**os.environ, **(self._env or {})},
            cwd=self._cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=self._group,
        )

    def start(self, timeout: float = 30.0) -> ServedProcess:
        self.spawn()
        self.wait_ready(timeout)
        return self

    def answering(self) -> bool:
        """Whether anything answers HTTP at the ready path (any status counts)."""
        try:
            with urllib.request.urlopen(self.base_url + self._ready_path, timeout=2):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    def wait_ready(self, timeout: float = 30.0) -> float:
        """Seconds from the start until the server answered; an error with what it printed
        if it exits or stays silent for ``timeout`` seconds."""
        assert self.process is not None, "spawn() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.output()}")
            if self.answering():
                return time.monotonic() - self.started_at
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer on {self.base_url}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        """Send ``sig`` and wait; after ``timeout`` seconds, kill. The exit status."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            self._signal(sig)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                process.wait()
        return process.returncode

    def _signal(self, sig: int) -> None:
        assert self.process is not None
        if self._group:
            os.killpg(self.process.pid, sig)
        else:
            self.process.send_signal(sig)

    def output(self) -> str:
        """What the process printed so far."""
        self._log.seek(0)
        return self._log.read()

    def __enter__(self) -> ServedProcess:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def call_json(
    base_url: str, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    """One request to a fake at ``base_url``; the status and the decoded JSON body."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base_url + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    return status, json.loads(raw) if raw else None


class _Reachable:
    """Requests and a per-test handle on the fake at ``self.base_url`` (on ``self.port``)."""

    base_url: str
    port: int

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        """One request; the status and the decoded JSON body (``None`` if there is none)."""
        return call_json(self.base_url, method, path, body, token)

    def handle(self, secret_key: str | None = None) -> TriggerMock:
        return TriggerMock(self, secret_key or new_secret_key())


class RunningFake(_Reachable):
    """A fake something else started (a container, a compose service, another process),
    at ``base_url``: ``handle()`` gives the same per-test view as :class:`MockServer`'s.

        fake = RunningFake(f"http://{host}:{port}")  # e.g. a Testcontainers mapping
        mock = fake.handle()  # a fresh key: an environment of its own
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        parsed = urllib.parse.urlsplit(self.base_url)
        self.port = parsed.port or (443 if parsed.scheme == "https" else 80)


class MockServer(ServedProcess, _Reachable):
    """``trigger-mock serve ARGS`` on a free port. Unless ``ARGS`` or ``TRIGGER_MOCK_*``
    variables (the process's, or ``env``) say otherwise, it logs warnings only. Use it as
    a context manager, or ``start()`` and ``stop()``::

        with MockServer("--agent", "echo") as server:
            mock = server.handle()
            ...  # point your code at mock.base_url with mock.secret_key
    """

    DEFAULTS = (("--log-level", "TRIGGER_MOCK_LOG_LEVEL", "warning"),)

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        port = free_port()
        environ = {**os.environ, **(env or {})}
        defaults = [
            part
            for option, variable, value in self.DEFAULTS
            if option not in args and variable not in environ
            for part in (option, value)
        ]
        command = self.serve_command(port, *defaults, *args)
        super().__init__(
            command, port, name="trigger-mock serve", env=env, ready_path="/_mock/health"
        )

    def serve_command(self, port: int, *args: str) -> list[str]:
        """The command line (a subclass may run another program that serves the fake)."""
        return [sys.executable, "-m", "mock_server", "serve", "--port", str(port), *args]

    def start(self, timeout: float = 30.0) -> MockServer:
        super().start(timeout)
        return self

    def __enter__(self) -> MockServer:
        return self.start()
