"""What the contract suite runs against: a URL, a `trigger-mock serve` it starts, or the
fake in-process.

A target is written as ``https://api.example`` (any running implementation),
``serve:documented`` / ``serve:deployed`` (start the fake as a real subprocess on a free
port, the way a user would) or ``inprocess:documented`` / ``inprocess:deployed`` (the fake's
ASGI app inside the test process, no network). With ``--contract-through-proxy`` a served or
URL target is reached through ``trigger-mock proxy`` (:mod:`.proxied`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from mock_server.testing import MockServer

from .client import TargetInfo
from .proxied import PROXIES

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


def served_fake(fidelity: str) -> MockServer:
    """The fake as the contract suite serves it: checking its own responses against the
    spec (``--validate-responses``, which takes Connexion's path for every request)."""
    return MockServer("--fidelity", fidelity, "--validate-responses")


@dataclass
class LiveTarget:
    spec: TargetSpec
    base_url: str
    info: TargetInfo
    key: str | None  # None: make a fresh key (own environment) for each test


class Targets:
    """Starts what needs starting, once per run, and stops it at the end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.live: dict[TargetSpec, LiveTarget] = {}
        self.served: list[MockServer] = []
        self.proxies = config.stash.get(PROXIES, None)

    def get(self, spec: TargetSpec) -> LiveTarget:
        if spec not in self.live:
            live = self._start(spec)
            if self.proxies is not None and spec.kind != "inprocess":
                fidelity = live.info.fidelity if live.info.is_mock else None
                proxy = self.proxies.start(spec.id, live.base_url, fidelity)
                live = replace(live, base_url=proxy.base_url)
            self.live[spec] = live
        return self.live[spec]

    def _start(self, spec: TargetSpec) -> LiveTarget:
        if spec.kind == "inprocess":
            info = TargetInfo(spec.id, is_mock=True, fidelity=spec.value, writes=True)
            return LiveTarget(spec, "http://127.0.0.1:8080", info, key=None)
        if spec.kind == "serve":
            fake = served_fake(spec.value)
            self.served.append(fake)
            fake.start()
            info = TargetInfo(spec.id, is_mock=True, fidelity=spec.value, writes=True)
            return LiveTarget(spec, fake.base_url, info, key=None)
        health = probe_health(spec.value)
        writes = health is not None or bool(self.config.getoption("--contract-allow-writes"))
        fidelity = None if health is None else health.get("fidelity")
        info = TargetInfo(
            spec.id,
            is_mock=health is not None,
            fidelity=fidelity if isinstance(fidelity, str) else None,
            writes=writes,
        )
        key = self.config.getoption("--contract-secret-key")
        return LiveTarget(spec, spec.value, info, key=key if health is None else None)

    def stop(self) -> None:
        """Read back and stop the proxies, then stop the fakes behind them."""
        if self.proxies is not None:
            junit_xml = self.config.getoption("xmlpath", None)
            self.proxies.stop(Path(junit_xml) if junit_xml else None)
        for fake in self.served:
            fake.stop()


def probe_health(base_url: str) -> dict[str, Any] | None:
    """The fake's health document, or None when the target is not trigger-mock. A target
    that cannot be reached at all ends the run. For a ``trigger-mock proxy`` it is the
    health of what the proxy forwards to: the proxy passes on the control plane of a fake
    behind it, and has none to offer in front of anything else."""
    try:
        response = httpx.get(f"{base_url}/_mock/health", timeout=10)
    except httpx.TransportError as exc:
        pytest.exit(f"cannot reach the contract target {base_url}: {exc}", returncode=2)
    try:
        body = response.json()
    except ValueError:
        return None
    ok = response.status_code == 200 and isinstance(body, dict) and body.get("status") == "ok"
    if ok and body.get("mode") == "proxy" and isinstance(body.get("upstream"), str):
        return probe_health(body["upstream"])
    return body if ok else None
