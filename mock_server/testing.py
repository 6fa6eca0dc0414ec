"""Using the fake from a test suite: a served fake and a handle on it.

The pytest fixtures in :mod:`mock_server.pytest_plugin` are built from these; they work
without pytest too::

    with MockServer() as server:
        mock = server.handle()
        ...  # point your code at mock.base_url with mock.secret_key

Only the standard library is used, so the plugin loads in any project that installs
trigger-mock, whatever else it has.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlencode


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def new_secret_key() -> str:
    """A fresh ``tr_dev_…`` key: each key is its own environment on the fake."""
    return "tr_dev_" + secrets.token_hex(12)


class MockServer:
    """``trigger-mock serve`` in a child process on a free port (and a free S2 port)."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._args = args
        self._env = env
        self._log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
        self._process: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 30.0) -> MockServer:
        command = [sys.executable, "-m", "mock_server", "serve", "--port", str(self.port)]
        command += ["--s2-port", "0", "--log-level", "warning", *self._args]
        self._process = subprocess.Popen(
            command,
            env={**os.environ, **(self._env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"trigger-mock serve exited early:\n{self.output()}")
            try:
                self.call("GET", "/_mock/health")
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"trigger-mock serve did not answer on {self.base_url}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=15)

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        """One request; the status and the decoded JSON body (``None`` if there is none)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
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

    def handle(self, secret_key: str | None = None) -> TriggerMock:
        return TriggerMock(self, secret_key or new_secret_key())


@dataclass
class TriggerMock:
    """One test's view of a served fake: its URL, a secret key (an environment of its
    own), and the control plane: reset, clock, scripted ``.out`` records, the journal."""

    server: MockServer
    secret_key: str

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def _control(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = self.server.call(method, path, body)
        if status >= 400:
            raise AssertionError(f"{method} {path} -> {status} {answer}")
        return answer

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """A request to the API with this test's secret key."""
        return self.server.call(method, path, body, token=self.secret_key)

    def client(self) -> Any:
        """An ``httpx.Client`` on the fake with this test's key (needs httpx)."""
        import httpx

        auth = {"Authorization": f"Bearer {self.secret_key}"}
        return httpx.Client(base_url=self.base_url, headers=auth)

    def reset(self) -> None:
        """Forget everything: sessions, channels, journal, clock."""
        self._control("POST", "/_mock/reset")

    def advance_clock(self, seconds: float) -> None:
        self._control("POST", "/_mock/clock", {"advanceSeconds": seconds})

    def set_clock(self, iso_instant: str, *, frozen: bool = False) -> None:
        self._control("POST", "/_mock/clock", {"set": iso_instant, "frozen": frozen})

    def write_out(
        self,
        session: str,
        *,
        text: str | None = None,
        records: list[dict[str, Any]] | None = None,
        in_event_id: int | None = None,
        io: str = "out",
    ) -> list[int]:
        """Play the task: a whole assistant turn (``text``) or exact ``records``."""
        body: dict[str, Any] = {"environment": self.secret_key}
        if text is not None:
            body["text"] = text
        if records is not None:
            body["records"] = records
        if in_event_id is not None:
            body["inEventId"] = in_event_id
        path = f"/_mock/sessions/{quote(session, safe='')}/{io}/records"
        return list(self._control("POST", path, body)["seqNums"])

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """This test's journaled requests, newest first (filters as in
        ``GET /_mock/requests``: ``method``, ``path`` glob, ``status``)."""
        query = urlencode({"environment": self.secret_key, "limit": 1000, **filters})
        return list(self._control("GET", f"/_mock/requests?{query}")["requests"])

    def sessions(self) -> list[dict[str, Any]]:
        """Every session in this test's environment, oldest first."""
        dump = self._control("GET", f"/_mock/sessions?environment={self.secret_key}")
        return [s for env in dump["environments"] for s in env["sessions"]]
