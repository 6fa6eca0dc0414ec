"""What the contract suite runs against: a URL, a `trigger-mock serve` it starts, or the
fake in-process.

A target is written as ``https://api.example`` (any running implementation),
``serve:documented`` / ``serve:deployed`` (start the fake as a real subprocess on a free
port, the way a user would) or ``inprocess:documented`` / ``inprocess:deployed`` (the fake's
ASGI app inside the test process, no network).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mock_server.testing import MockServer

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
