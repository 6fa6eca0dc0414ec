"""The validating proxy in a child process, for tests: :class:`MockProxy` runs
``trigger-mock proxy --upstream URL`` on a free port and reads back what it found.
Standard library only."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from .served import ServedProcess, free_port


class MockProxy(ServedProcess):
    """``trigger-mock proxy --upstream UPSTREAM ARGS``. Point the code under test at
    :attr:`base_url` instead of the upstream; afterwards ask :meth:`violations` or
    :meth:`assert_no_violations`::

        with MockProxy("http://127.0.0.1:8080", "--expect", "documented") as proxy:
            ...  # run the code under test against proxy.base_url
            proxy.assert_no_violations()
    """

    def __init__(
        self,
        upstream: str,
        *args: str,
        env: dict[str, str] | None = None,
        admin_token: str | None = None,
    ) -> None:
        port = free_port()
        self.upstream = upstream.rstrip("/")
        self.admin_token = admin_token
        extra = ["--admin-token", admin_token] if admin_token else []
        if "--log-level" not in args:
            extra += ["--log-level", "warning"]
        command = [
            sys.executable, "-m", "mock_server", "proxy",
            "--upstream", self.upstream, "--port", str(port), *extra, *args,
        ]  # fmt: skip
        super().__init__(
            command, port, name="trigger-mock proxy", env=env, ready_path="/_mock/health"
        )

    def start(self, timeout: float = 30.0) -> MockProxy:
        super().start(timeout)
        return self

    def __enter__(self) -> MockProxy:
        return self.start()

    def _control(self, method: str, path: str) -> Any:
        request = urllib.request.Request(self.base_url + path, method=method)
        if self.admin_token:
            request.add_header("Authorization", f"Bearer {self.admin_token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{method} {path} -> {error.code} {error.read()!r}") from None
        return json.loads(raw) if raw else None

    def violations(self, **filters: str | int) -> list[dict[str, Any]]:
        """The violations found so far, oldest first; ``filters`` as
        ``GET /_mock/violations`` takes them (``rule="cors"``, ``status=500``, …)."""
        query = urlencode({"limit": 10000, **filters})
        found: list[dict[str, Any]] = self._control("GET", f"/_mock/violations?{query}")[
            "violations"
        ]
        return found[::-1]

    def summary(self) -> dict[str, Any]:
        """Counts so far: exchanges, violations by rule, fidelity readings."""
        summary: dict[str, Any] = self._control("GET", "/_mock/proxy")
        return summary

    def clear_violations(self) -> None:
        self._control("DELETE", "/_mock/violations")

    def assert_no_violations(self) -> None:
        """Fail with every violation listed (up to 50) if there is any."""
        found = self.violations()
        if found:
            lines = [
                f"  {v['method']} {v['path']} -> {v['status']}: [{v['rule']}] {v['message']}"
                for v in found[:50]
            ]
            more = f"\n  … and {len(found) - 50} more" if len(found) > 50 else ""
            raise AssertionError(
                f"{len(found)} contract violation(s) through the proxy:\n" + "\n".join(lines) + more
            )
