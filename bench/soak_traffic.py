"""The soak's client side: one HTTP client, the tally of every answer, the sessions the
soak made, and pacing.

Every request goes through :meth:`Traffic.call` (or :meth:`Traffic.opened` for streams),
which waits while the server is down, and tallies the answer by operation: its status, an
injected fault (``x-trigger-mock-fault``), a bound's answer (``x-trigger-mock-limit``), or
the transport error. Errors are judged at the end, when the kill window is known.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from soak_checks import Acked, SessionBook, StreamKey

FAULT = "x-trigger-mock-fault"
LIMIT = "x-trigger-mock-limit"
TIMEOUT = 15.0


@dataclass(slots=True)
class Failure:
    """A request that got no answer."""

    op: str
    kind: str
    start: float
    end: float
    excuse: str | None = None
    """Why it was expected (``"fault"``: an injected drop that fired); judged later."""


@dataclass
class Tally:
    ops: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    injected: Counter[str] = field(default_factory=Counter)
    bounds: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    server_errors: Counter[str] = field(default_factory=Counter)
    """5xx answers that are neither an injected fault nor a bound's: each one fails."""
    server_error_samples: list[str] = field(default_factory=list)
    hostile: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    probes: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    latency: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    """Seconds each answer took, by operation."""
    anomalies: list[str] = field(default_factory=list)
    """What the server answered against what it acknowledged earlier: each one fails."""

    def anomaly(self, text: str) -> None:
        if len(self.anomalies) < 40:
            self.anomalies.append(text)

    def answer(self, op: str, response: httpx.Response) -> None:
        body = response.content if _read(response) else b""
        self.status(op, response.status_code, response.headers, body)

    def status(self, op: str, status: int, headers: Mapping[str, str], body: bytes = b"") -> None:
        self.ops[op][str(status)] += 1
        fault, limit = headers.get(FAULT), headers.get(LIMIT)
        if fault is not None:
            self.injected[f"{op} {status}"] += 1
        elif limit is not None and status >= 500:
            self.bounds[f"{limit} {status}"] += 1
        elif status >= 500:
            self.server_errors[f"{op} {status}"] += 1
            if len(self.server_error_samples) < 20:
                sample = body[:200].decode(errors="replace")
                self.server_error_samples.append(f"{op} {status} {sample}")

    def failed(self, op: str, error: BaseException, start: float) -> Failure:
        kind = type(error).__name__
        self.ops[op][kind] += 1
        failure = Failure(op, kind, start, time.monotonic())
        self.failures.append(failure)
        return failure


def _read(response: httpx.Response) -> bool:
    try:
        response.content  # noqa: B018 (raises on a stream not read)
    except httpx.ResponseNotRead:
        return False
    return True


@dataclass(slots=True)
class Session:
    """A session the soak made: where it lives and what it was told."""

    key: str
    external_id: str
    session_id: str
    token: str
    owner: int
    run_id: str = ""
    closed: bool = False
    book: SessionBook | None = None


class Bucket:
    """A token bucket: ``rate`` per second, ``burst`` at most."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.level, self.at = burst, time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.burst, self.level + (now - self.at) * self.rate)
        self.at = now

    def try_take(self, amount: float = 1.0) -> bool:
        self._refill()
        if self.level >= amount:
            self.level -= amount
            return True
        return False

    async def take(self, amount: float) -> None:
        self._refill()
        self.level -= amount
        if self.level < 0:
            await asyncio.sleep(-self.level / self.rate)


class Traffic:
    """What every worker shares: the client, the tally, the books, the gates."""

    def __init__(self, base_url: str, seed: int) -> None:
        self.base_url = base_url
        self.client = httpx.AsyncClient(
            base_url=base_url,
            timeout=TIMEOUT,
            # Idle connections are let go well before the server's keep-alive and header
            # timeouts, so a request never races the server closing its connection.
            limits=httpx.Limits(max_connections=96, keepalive_expiry=1.0),
        )
        self.tally = Tally()
        self.random = random.Random(seed)
        self.up = asyncio.Event()
        self.stopping = asyncio.Event()
        self.sessions: list[Session] = []
        self.books: dict[tuple[str, str], SessionBook] = {}
        self.streams: defaultdict[StreamKey, dict[int, Acked]] = defaultdict(dict)
        self.counter = 0
        self.epoch = 0
        """Counts the kills: a raw exchange that spans one is not judged."""

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    async def call(
        self,
        op: str,
        method: str,
        url: str,
        *,
        key: str | None = None,
        gate: bool = True,
        **options: Any,
    ) -> httpx.Response | Failure:
        """One request, tallied; the answer, or the :class:`Failure` if none came.
        ``gate``: wait while the server is down (the soak's own checks pass it)."""
        if gate:
            await self.up.wait()
        headers = dict(options.pop("headers", None) or {})
        if key is not None:
            headers.setdefault("Authorization", f"Bearer {key}")
        start = time.monotonic()
        try:
            response = await self.client.request(method, url, headers=headers, **options)
        except httpx.HTTPError as error:
            return self.tally.failed(op, error, start)
        self.tally.latency[op].append(time.monotonic() - start)
        self.tally.answer(op, response)
        return response

    @asynccontextmanager
    async def opened(
        self, op: str, url: str, *, key: str, headers: dict[str, str] | None = None
    ) -> AsyncIterator[httpx.Response | Failure]:
        """A streamed ``GET``, tallied like :meth:`call`; an error while reading its body
        is tallied too (and excused if the answer carried a fault's mark)."""
        await self.up.wait()
        start = time.monotonic()
        sent = {"Authorization": f"Bearer {key}", **(headers or {})}
        answered = False
        try:
            async with self.client.stream("GET", url, headers=sent) as response:
                self.tally.answer(op, response)
                answered = True
                try:
                    yield response
                except httpx.HTTPError as error:
                    failure = self.tally.failed(op + " (body)", error, start)
                    if response.headers.get(FAULT) is not None:
                        failure.excuse = "fault"
        except httpx.HTTPError as error:
            if answered:  # while closing a stream already judged
                return
            yield self.tally.failed(op, error, start)

    def open_sessions(self, owner: int | None = None) -> list[Session]:
        return [s for s in self.sessions if not s.closed and (owner is None or s.owner == owner)]

    def pick(self, owner: int | None = None) -> Session | None:
        choices = self.open_sessions(owner) or (self.sessions if owner is None else [])
        return self.random.choice(choices) if choices else None

    async def pause(self, mean: float) -> None:
        await asyncio.sleep(self.random.expovariate(1 / mean))
