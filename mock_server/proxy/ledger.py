"""Where a finished exchange goes: the proxy's journal, the violation log (and its counts
and fidelity readings), and the recording, if one is kept."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from ..http.journal import BODY_CAP, RequestJournal
from .checker import FAULT_HEADER
from .exchange import Exchange, Headers
from .forward import Finished
from .violations import ViolationLog

access_logger = logging.getLogger("trigger_mock.access")


class Recording(Protocol):
    def add(self, exchange: Exchange) -> None: ...
    def close(self) -> object: ...


@dataclass
class Ledger:
    journal: RequestJournal
    violations: ViolationLog
    recording: Recording | None = None

    def finished(self, done: Finished) -> None:
        """Record, journal and count one exchange and its violations."""
        exchange, verdict = done.exchange, done.verdict
        if self.recording is not None and not exchange.local:
            self.recording.add(exchange)
        if verdict.left_alone == "control-plane":
            return  # the upstream's control plane, or no API path: not journaled
        count = len(verdict.violations)
        number = self.journal.record(
            at_ms=exchange.at_ms,
            method=exchange.method,
            path=exchange.path,
            query=exchange.query,
            status=exchange.status,
            latency_ms=exchange.latency_ms,
            request_headers=_raw(exchange.request_headers),
            request_bytes=exchange.request_body.size,
            response_bytes=exchange.response_body.size,
            request_body=_capped(exchange.request_body.chunks),
            response_headers=_raw(exchange.response_headers),
            response_body=_capped(exchange.response_body.chunks),
            fault=exchange.response_header(FAULT_HEADER),  # the fake's rule, as its journal has it
            violations=count,
        )
        access_logger.info(
            '"%s %s" %d %.1fms %d violation(s)',
            exchange.method,
            exchange.path,
            exchange.status,
            exchange.latency_ms,
            count,
        )
        self.violations.note(refused=verdict.refused_request, left_alone=verdict.left_alone)
        for row, reading in verdict.readings:
            self.violations.read(row, reading)
        self.violations.add(
            verdict.violations,
            exchange=number,
            at_ms=exchange.at_ms,
            operation=exchange.operation,
            method=exchange.method,
            path=exchange.path,
            status=exchange.status,
        )

    def close(self) -> None:
        """Close the report file and write the recording."""
        self.violations.close()
        if self.recording is not None:
            self.recording.close()


def _raw(headers: Headers) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


def _capped(chunks: list[bytes], cap: int = BODY_CAP) -> list[bytes]:
    """The first ``cap`` bytes, in their chunks: what the journal keeps of a body."""
    kept: list[bytes] = []
    size = 0
    for chunk in chunks:
        if size >= cap:
            break
        kept.append(chunk[: cap - size])
        size += len(kept[-1])
    return kept
