"""``trigger-mock replay``: a cassette's requests sent to another target, its answers held
against the recorded ones (:mod:`.comparison`).

All requests run concurrently (so an SSE read that waited for a later append still sees
it). Each starts no sooner than its recorded offset from the first, never before every
exchange that had ended when it started in the recording has ended here, and no sooner
after any of those started or ended here than it did in the recording: the gaps a rate
limiter, a retry's backoff or an agent's pace depend on are kept. Before it is sent, the
ids the upstream minted are replaced by the target's (:class:`~.idmap.IdMap`), the
upstream's own URL by the target's, a placeholder key by the key given for it (by default
itself: the fake takes any key), a JWT placeholder by the token the target handed out in
its place, else by one minted with the recorded claims (:mod:`.minting`); and the records
the recording saw that no recorded request wrote are written first (:mod:`.injection`).

An event stream is read until the target ends or cuts it, until it has shown as many
records as a stream the client left showed, or for as long as the recorded one lasted
plus a grace period.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import httpx
import yaml

from .cassette import Cassette, CassetteError, Interaction
from .comparison import compare_answer
from .eventstream import StreamCounter, read_stream
from .exchange import Headers
from .finalstate import compare_state
from .idmap import IdMap
from .injection import Injection, observe, write
from .minting import Minter
from .replayreport import Difference, ReplayReport, Skipped

__all__ = ["Difference", "Replay", "ReplayReport", "Skipped", "replay"]

HOP_BY_HOP: Final = frozenset(
    {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "trailer",
     "upgrade", "proxy-connection", "accept-encoding"}
)  # fmt: skip
UPSTREAM_ITSELF: Final = ("/_mock/requests", "/_mock/health", "/_mock/ui", "/_mock/violations",
                          "/_mock/proxy")  # fmt: skip
"""Control-plane reads that describe the upstream (its journal, its health), not state."""
DUPLEX_S2: Final = "s2s/proto"
END_SLACK_MS: Final = 2.0
REQUEST_TIMEOUT_SECONDS: Final = 30.0


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


def _end_ms(interaction: Interaction) -> float:
    return interaction.offset_ms + interaction.latency_ms


def _ended_by_ms(interaction: Interaction) -> float:
    """When the client had the whole answer, at the latest. The recorded end is measured a
    little after (the proxy's own work; offsets in whole milliseconds), so an answer with
    a length counts as ended up to :data:`END_SLACK_MS` earlier, though never before it
    started; an event stream's end, which others may wait for, is taken as measured."""
    if interaction.is_event_stream:
        return _end_ms(interaction)
    return max(_end_ms(interaction) - END_SLACK_MS, interaction.offset_ms + 0.001)


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
        agent: bool = False,
    ) -> None:
        """``agent``: the target answers chat messages itself (a fake's ``--agent``)."""
        self.cassette = cassette
        self.base_url = base_url.rstrip("/")
        self.client = client
        self.keys = dict(keys)
        self.ids = IdMap(keys)
        if cassette.upstream:
            self.ids.alias(cassette.upstream, self.base_url)
        self.is_fake = is_fake
        self.grace = grace_seconds
        self.report = ReplayReport(self.base_url, len(cassette.interactions))
        self.minter = Minter(cassette, self.base_url, client, self.keys, self.ids, self.report.note)
        self.observed = observe(cassette, agent=agent)

    async def run(self) -> None:
        items = self.cassette.interactions
        ends = sorted(range(len(items)), key=lambda j: _ended_by_ms(items[j]))
        end_times = [_ended_by_ms(items[j]) for j in ends]
        place = {j: p for p, j in enumerate(ends)}
        done = [False] * len(items)
        late = [0.0] * len(items)
        """By place in ``ends``: how much later than recorded it started or ended here."""
        behind = [0.0] * (len(items) + 1)
        """``behind[p]``: the most any of the first ``p`` to end was late."""
        ready = asyncio.Condition()
        prefix = 0
        loop = asyncio.get_running_loop()
        started = loop.time()

        async def one(j: int) -> None:
            nonlocal prefix
            at = items[j].offset_ms / 1000
            started_late = 0.0
            try:
                await asyncio.sleep(max(0.0, started + at - loop.time()))
                before = bisect.bisect_left(end_times, items[j].offset_ms)
                async with ready:
                    await ready.wait_for(lambda: prefix >= before)
                await asyncio.sleep(max(0.0, started + at + behind[before] - loop.time()))
                started_late = loop.time() - started - at
                await self.one(j, items[j])
            finally:
                async with ready:
                    ended_late = loop.time() - started - _end_ms(items[j]) / 1000
                    late[place[j]] = max(started_late, ended_late, 0.0)
                    done[place[j]] = True
                    while prefix < len(done) and done[prefix]:
                        behind[prefix + 1] = max(behind[prefix], late[prefix])
                        prefix += 1
                    ready.notify_all()

        await asyncio.gather(*(one(j) for j in range(len(items))))

    async def one(self, n: int, interaction: Interaction) -> None:
        for injection in self.observed.injections.get(n, []):
            await self.inject(n, injection)
        reason = skip_reason(interaction, self.cassette.upstream, self.is_fake)
        if reason is not None:
            self.report.skipped.append(Skipped(n, interaction.method, interaction.path, reason))
            return
        try:
            status, headers, body, cut = await self.send(interaction)
        except (httpx.HTTPError, TimeoutError) as exc:
            what = f"no answer: {type(exc).__name__} {exc}".strip()
            self.report.differ(n, interaction.method, interaction.path, what)
            return
        self.report.sent += 1
        for what in compare_answer(interaction, status, headers, body, self.ids, cut=cut):
            self.report.differ(n, interaction.method, interaction.path, what)

    async def inject(self, n: int, injection: Injection) -> None:
        """Write records the recording saw and no recorded request wrote (a fake only)."""
        if not self.is_fake:
            reason = (f"{injection.describe()}: seen, but written past the proxy (the S2 "
                      "writer); the target is not a fake, so replay cannot write them")  # fmt: skip
            self.report.skipped.append(Skipped(n, "POST", injection.path, reason))
            return
        wrong = await write(self.client, self.base_url, injection, self.ids, self.keys)
        if wrong is not None:
            self.report.differ(n, "POST", injection.path, wrong)
        self.report.written += len(injection.records)

    async def send(self, interaction: Interaction) -> tuple[int, Headers, bytes, bool]:
        """The target's status, headers and body, and whether it broke the body off."""
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
            return answer.status_code, _headers(answer), answer.content, False
        recorded = read_stream(interaction.response_body)
        left = not (recorded.done or interaction.cut)  # the client left: so may we, as soon
        wanted = len(recorded.records) if left else None
        lasting = interaction.latency_ms / 1000 + (0.0 if wanted == 0 else self.grace)
        status: int | None = None
        answer_headers: Headers = []
        chunks: list[bytes] = []
        counter = StreamCounter()
        cut = False
        try:
            async with asyncio.timeout(lasting):
                async with self.client.stream(method, url, headers=headers, content=body) as got:
                    status, answer_headers = got.status_code, _headers(got)
                    try:
                        async for chunk in got.aiter_bytes():
                            chunks.append(chunk)
                            if wanted and counter.feed(chunk) >= wanted:
                                break
                    except (httpx.RemoteProtocolError, httpx.ReadError):
                        cut = True
        except TimeoutError:
            if status is None:
                raise
        return status, answer_headers, b"".join(chunks), cut


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
    agent: bool = False,
) -> ReplayReport:
    """Send the cassette's requests to ``base_url`` and report where its answers differ;
    when the target is a fake and ``end_state`` (a seed file, by default ``seed.yaml``
    beside the cassette) exists, hold the target's final state against it too. ``agent``:
    the target answers chat messages itself. Raises :class:`~.cassette.CassetteError` for
    a file that is not a cassette."""
    loaded = cassette if isinstance(cassette, Cassette) else Cassette.read(cassette)
    if end_state is None and isinstance(cassette, Path):
        end_state = cassette.parent / "seed.yaml"
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=20)
    timeout = httpx.Timeout(REQUEST_TIMEOUT_SECONDS)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        fake = await is_fake(client, base_url)
        run = Replay(
            loaded, base_url, client, keys=keys or {}, is_fake=fake,
            grace_seconds=grace_seconds, agent=agent,
        )  # fmt: skip
        await run.run()
        if fake and end_state is not None and end_state.exists():
            seed = _seed_document(end_state)
            found = await compare_state(
                client, run.base_url, seed, run.keys, run.ids, run.observed.read
            )
            for where, what in found:
                run.report.differ(None, "", where, what)
        elif end_state is not None and end_state.exists():
            run.report.notes.append("the target is not a fake: its final state was not compared")
    return run.report
