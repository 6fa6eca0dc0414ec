"""Everything the proxy checks of one exchange, and what it makes of it: the findings that
are violations, the fidelity readings, and the answers it leaves alone (the control plane,
an injected fault, the rate limiter, an upstream that never answered).

Which findings count depends on who is at fault. A request that breaks the contract is
the client's doing: when the upstream refuses it (a ``4xx``) the contract worked, and it
is only counted; when the upstream *accepts* it, the upstream broke the contract too, and
it is a violation. (``--strict`` refuses such requests before they leave, see
:mod:`.forward`.) Every finding about the answer is a violation, unless a row of the
fidelity table explains it and the proxy accepts that row's reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

from ..core.fidelity import Fidelity
from .exchange import Exchange
from .readings import READINGS
from .rules import RULES
from .spec_check import SpecCheck
from .violations import Finding, Reading

Expect = Literal["either", "documented", "deployed"]
API_PREFIXES: Final = ("/api/", "/realtime/", "/engine/")
FAULT_HEADER: Final = "x-trigger-mock-fault"
"""The fake marks the answers its fault rules make (they are not the API's)."""
LIMIT_HEADER: Final = "x-trigger-mock-limit"
"""The fake marks the answers its own bounds make (``507`` beyond ``--max-sessions``, …)."""


@dataclass
class Verdict:
    violations: list[Finding] = field(default_factory=list)
    readings: list[tuple[str, Reading]] = field(default_factory=list)
    refused_request: bool = False
    """The request broke the contract and the upstream refused it."""
    left_alone: str | None = None
    """Why nothing was checked: ``control-plane``, ``fault``, ``fake-bound``, ``rate-limited``,
    ``upstream-error``."""


class ExchangeChecker:
    def __init__(self, spec: dict[str, Any], expect: Expect = "either") -> None:
        self.spec = SpecCheck(spec)
        self.expect = expect

    def accepts(self, reading: Reading) -> bool:
        return self.expect in ("either", reading)

    def name(self, exchange: Exchange) -> None:
        """Fill in the exchange's ``operation``."""
        op = self.spec.operation(exchange)
        exchange.operation = None if op is None else op.id

    @staticmethod
    def concerns(exchange: Exchange) -> bool:
        """Whether the exchange is the API's (not a control plane's, not another path)."""
        return exchange.path.startswith(API_PREFIXES)

    def request_findings(self, exchange: Exchange) -> list[Finding]:
        """What is wrong with the request alone (for ``--strict``, before forwarding)."""
        op = self.spec.operation(exchange)
        if op is None or not self.concerns(exchange):
            return []
        return list(self.spec.request(exchange, op))

    def check(self, exchange: Exchange) -> Verdict:
        verdict = Verdict()
        if not self.concerns(exchange):
            verdict.left_alone = "control-plane"
            return verdict
        if exchange.status == 0:
            verdict.left_alone = "upstream-error"
            return verdict
        if exchange.response_header(FAULT_HEADER) is not None:
            verdict.left_alone = "fault"
            return verdict
        if exchange.response_header(LIMIT_HEADER) is not None:
            verdict.left_alone = "fake-bound"
            return verdict
        if exchange.status == 429 and exchange.response_header("x-ratelimit-limit"):
            verdict.left_alone = "rate-limited"  # documented with the limits, not per operation
            return verdict
        op = self.spec.operation(exchange)
        exchange.operation = None if op is None else op.id
        request: list[Finding] = []
        response: list[Finding] = []
        if op is None:
            if 200 <= exchange.status < 300 and exchange.method != "OPTIONS":
                response.append(
                    Finding(
                        "response",
                        "response.operation",
                        f"{exchange.method} {exchange.path} is no operation of the contract,"
                        f" yet the upstream answered {exchange.status}",
                    )
                )
        else:
            request = list(self.spec.request(exchange, op))
            response = list(self.spec.response(exchange, op))
        for rule in RULES:
            response.extend(rule(exchange))
        explained: set[str] = set()
        for row in READINGS:
            reading = row.recognise(exchange)
            if reading is None:
                continue
            verdict.readings.append((row.row, reading))
            if self.accepts(reading):
                if reading == "deployed" or self.expect != "either":
                    explained |= row.explains
            else:
                response.append(
                    Finding(
                        "response",
                        "fidelity",
                        f"{row.row}: answered as {reading}, where this proxy expects "
                        f"{self.expect} ({Fidelity(self.expect).value} mode)",
                    )
                )
        request = [f for f in request if f.rule not in explained]
        response = [f for f in response if f.rule not in explained]
        if request and 400 <= exchange.status < 500:
            verdict.refused_request = True
            request = []
        elif request:
            accepted = f"; the upstream accepted it ({exchange.status})"
            request = [Finding(f.direction, f.rule, f.message + accepted) for f in request]
        verdict.violations = request + response
        return verdict
