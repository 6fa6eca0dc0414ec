"""``trigger-mock replay``: a cassette's requests sent to another target, its answers held
against the recorded ones (:mod:`.comparison`).

Each request starts at its recorded offset from the first, all of them concurrently (so
an SSE read that waited for a later append still sees it), and never before every
exchange that had ended when it started in the recording has ended here. Before it is
sent, the ids the upstream minted are replaced by the target's (:class:`~.idmap.IdMap`),
a placeholder key by the key given for it (by default itself: the fake takes any key), a
JWT placeholder by the token the target handed out in its place, else by one minted with
the recorded claims (:mod:`.minting`). An event stream is read until the target ends it,
or for as long as the recorded one lasted plus a grace period.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import yaml

from .cassette import Cassette, CassetteError, Interaction
from .comparison import compare_answer
from .exchange import Headers
from .finalstate import compare_state
from .idmap import IdMap
from .minting import Minter

HOP_BY_HOP: Final = frozenset(
    {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "trailer",
     "upgrade", "proxy-connection", "accept-encoding"}
)  # fmt: skip
UPSTREAM_ITSELF: Final = ("/_mock/requests", "/_mock/health", "/_mock/ui", "/_mock/violations",
                          "/_mock/proxy")  # fmt: skip
"""Control-plane reads that describe the upstream (its journal, its health), not state."""
DUPLEX_S2: Final = "s2s/proto"
REQUEST_TIMEOUT_SECONDS: Final = 30.0


@dataclass(frozen=True)
class Difference:
    index: int | None
    """The interaction's place in the cassette; ``None`` for the final state."""
    method: str
    path: str
    what: str

    def line(self) -> str:
        if self.index is None:
            return f"final state, {self.path}: {self.what}"
        return f"#{self.index} {self.method} {self.path}: {self.what}"


@dataclass(frozen=True)
class Skipped:
    index: int
    method: str
    path: str
    reason: str


@dataclass
class ReplayReport:
    target: str
    interactions: int = 0
    sent: int = 0
    differences: list[Difference] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def differ(self, index: int | None, method: str, path: str, what: str) -> None:
        self.differences.append(Difference(index, method, path, what))

    def lines(self) -> list[str]:
        lines = [
            f"replayed {self.sent} of {self.interactions} interactions against {self.target}: "
            f"{len(self.differences)} difference(s), {len(self.skipped)} skipped"
        ]
        ordered = sorted(self.differences, key=lambda d: (d.index is None, d.index or 0))
        lines += ["  " + d.line() for d in ordered]
        lines += [f"  skipped #{s.index} {s.method} {s.path}: {s.reason}" for s in self.skipped]
        return lines + [f"  note: {note}" for note in self.notes]


def skip_reason(interaction: Interaction, upstream: str, is_fake: bool) -> str | None:
    """Why an interaction is not sent, or ``None``."""
    path = interaction.path
    if upstream and not interaction.uri.startswith(upstream):
        return "recorded against another host than the upstream"
    if path.startswith(UPSTREAM_ITSELF):
        return "describes the upstream itself (journal, health), not its state"
    if path.startswith("/_mock/") and not is_fake:
        return "a control-plane call, and the target is not a fake"
    if not interaction.complete:
        return "a body was not kept whole"
    if (interaction.request_header("content-type") or "").startswith(DUPLEX_S2):
        return "an S2 append session (HTTP/2, both ways at once) is not replayed"
    return None


class Replay:
    def __init__(
        self,
        cassette: Cassette,
        base_url: str,
        client: httpx.AsyncClient,
        *,
        keys: Mapping[str, str],
        is_fake: bool,
        grace_seconds: float,
    ) -> None:
        self.cassette = cassette
        self.base_url = base_url.rstrip("/")
        self.client = client
        self.keys = dict(keys)
        self.ids = IdMap(keys)
        self.is_fake = is_fake
        self.grace = grace_seconds
        self.report = ReplayReport(self.base_url, len(cassette.interactions))
        self.minter = Minter(cassette, self.base_url, client, self.keys, self.ids, self._note)

    async def run(self) -> None:
        items = self.cassette.interactions
        ends = sorted(range(len(items)), key=lambda j: items[j].offset_ms + items[j].latency_ms)
        end_times = [items[j].offset_ms + items[j].latency_ms for j in ends]
        place = {j: p for p, j in enumerate(ends)}
        done = [False] * len(items)
        ready = asyncio.Condition()
        prefix = 0
        loop = asyncio.get_running_loop()
        started = loop.time()

        async def one(j: int) -> None:
            nonlocal prefix
            try:
                await asyncio.sleep(max(0.0, started + items[j].offset_ms / 1000 - loop.time()))
                before = bisect.bisect_left(end_times, items[j].offset_ms)
                async with ready:
                    await ready.wait_for(lambda: prefix >= before)
                await self.one(j, items[j])
            finally:
                async with ready:
                    done[place[j]] = True
                    while prefix < len(done) and done[prefix]:
                        prefix += 1
                    ready.notify_all()

        await asyncio.gather(*(one(j) for j in range(len(items))))

    async def one(self, n: int, interaction: Interaction) -> None:
        reason = skip_reason(interaction, self.cassette.upstream, self.is_fake)
        if reason is not None:
            self.report.skipped.append(Skipped(n, interaction.method, interaction.path, reason))
            return
        try:
            status, headers, body = await self.send(interaction)
        except (httpx.HTTPError, TimeoutError) as exc:
            what = f"no answer: {type(exc).__name__} {exc}".strip()
            self.report.differ(n, interaction.method, interaction.path, what)
            return
        self.report.sent += 1
        for what in compare_answer(interaction, status, headers, body, self.ids):
            self.report.differ(n, interaction.method, interaction.path, what)

    async def send(self, interaction: Interaction) -> tuple[int, Headers, bytes]:
        await self.minter.fill_in(interaction)
        query = self.ids.apply(interaction.query)
        url = self.base_url + self.ids.apply(interaction.path) + (f"?{query}" if query else "")
        headers = [
            (k, self.ids.apply(v)) for k, v in interaction.request_headers if k not in HOP_BY_HOP
        ]
        body = interaction.request_body
        with contextlib.suppress(UnicodeDecodeError):
            body = self.ids.apply(body.decode("utf-8")).encode("utf-8")
        method = interaction.method
        if not interaction.is_event_stream:
            answer = await self.client.request(method, url, headers=headers, content=body)
            return answer.status_code, _headers(answer), answer.content
        status: int | None = None
        answer_headers: Headers = []
        chunks: list[bytes] = []
        try:
            async with asyncio.timeout(interaction.latency_ms / 1000 + self.grace):
                async with self.client.stream(method, url, headers=headers, content=body) as got:
                    status, answer_headers = got.status_code, _headers(got)
                    async for chunk in got.aiter_bytes():
                        chunks.append(chunk)
        except TimeoutError:
            if status is None:
                raise
        return status, answer_headers, b"".join(chunks)

    def _note(self, text: str) -> None:
        if text not in self.report.notes:
            self.report.notes.append(text)


def _headers(answer: httpx.Response) -> Headers:
    return [(k.lower(), v) for k, v in answer.headers.multi_items()]


async def is_fake(client: httpx.AsyncClient, base_url: str) -> bool:
    """Whether ``base_url`` is a trigger-mock fake (it answers ``GET /_mock/health``)."""
    try:
        answer = await client.get(base_url.rstrip("/") + "/_mock/health")
        body = answer.json()
    except (httpx.HTTPError, ValueError):
        return False
    return answer.status_code == 200 and isinstance(body, dict) and body.get("status") == "ok"


def _seed_document(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CassetteError(f"{path}: the end state cannot be read: {exc}") from exc
    if not isinstance(document, dict):
        raise CassetteError(f"{path}: the end state is not a seed file")
    return document


async def replay(
    cassette: Path | Cassette,
    base_url: str,
    *,
    keys: Mapping[str, str] | None = None,
    end_state: Path | None = None,
    grace_seconds: float = 2.0,
) -> ReplayReport:
    """Send the cassette's requests to ``base_url`` and report where its answers differ;
    when the target is a fake and ``end_state`` (a seed file, by default ``seed.yaml``
    beside the cassette) exists, hold the target's final state against it too.
    Raises :class:`~.cassette.CassetteError` for a file that is not a cassette."""
    loaded = cassette if isinstance(cassette, Cassette) else Cassette.read(cassette)
    if end_state is None and isinstance(cassette, Path):
        end_state = cassette.parent / "seed.yaml"
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=20)
    timeout = httpx.Timeout(REQUEST_TIMEOUT_SECONDS)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        fake = await is_fake(client, base_url)
        run = Replay(
            loaded, base_url, client, keys=keys or {}, is_fake=fake, grace_seconds=grace_seconds
        )
        await run.run()
        if fake and end_state is not None and end_state.exists():
            seed = _seed_document(end_state)
            for where, what in await compare_state(client, run.base_url, seed, run.keys, run.ids):
                run.report.differ(None, "", where, what)
        elif end_state is not None and end_state.exists():
            run.report.notes.append("the target is not a fake: its final state was not compared")
    return run.report
