"""Run-side waitpoints: what a task's ``session.in.wait()`` suspends its run on.

- A run of the environment (a session's current run, or one it had) asks for a waitpoint
  on its session's ``.in`` or ``.out``, named by ``session_…`` id or externalId (no row is
  needed for an externalId; an unknown ``session_…`` id is a 404). It is registered on the
  channel's canonical stream, so either URL form of the session reaches it.
- The next part appended to that channel through the API completes every waitpoint
  registered there, with the part's text as the output (:attr:`Realtime.on_part`). The
  task's own writes and the close record complete nothing, as on the server.
- Race check: if the channel already holds a record after ``lastSeqNum`` (from the first
  record without it), a new waitpoint completes at once with that record's ``data``.
- A ``timeout`` that passes on the fake's clock first times the waitpoint out (read lazily,
  whenever the waitpoint is looked at). The same ``idempotencyKey`` in the environment
  returns the same waitpoint (``isCached``) until its ``idempotencyKeyTTL`` runs out.
- Kept per environment and in memory only: a reset forgets them, the state file does not
  hold them.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field, replace
from typing import Any, Final

from ..core.jsoncodec import dump_json
from ..core.times import MAX_JS_TIME_MS, iso_ms, js_date_ms
from ..sessions.durations import natural_duration_ms
from ..sessions.errors import SessionNotFound
from .errors import RunNotFound, TooManyWaitpointTags, WaitpointLimitReached, WaitpointNotFound
from .realtime import Realtime
from .records import Record, StreamKey
from .streams import Channel
from .waitpoint_budget import WAITPOINT_COST, WaitpointBudget

WAITPOINT_PREFIX: Final = "waitpoint_"
MAX_TAGS: Final = 10
OUTPUT_TYPE: Final = "application/json"
TIMEOUT_CODE: Final = "TRIGGER_WAITPOINT_TIMEOUT"
WAITING: Final = "WAITING"
COMPLETED: Final = "COMPLETED"
TIMED_OUT: Final = "TIMED_OUT"


def key_expiry(ttl: str | None, now_ms: int) -> int | None:
    """When an ``idempotencyKeyTTL`` such as ``1h`` runs out; ``None`` (never) for none or
    for one the SDK's duration grammar does not read."""
    if not ttl:
        return None
    duration = natural_duration_ms(ttl)
    if duration is None or now_ms + duration > MAX_JS_TIME_MS:
        return None
    return now_ms + duration


def timeout_at(timeout: str | None, now_ms: int) -> int | None:
    """The instant a ``timeout`` names, read as the server reads a delay: a date JavaScript
    reads (no timeout unless it is in the future), else a duration from now (``30s``,
    ``1h``, ``2d``); no timeout for anything else."""
    if not timeout:
        return None
    at = js_date_ms(timeout)
    if at is not None:
        return at if at > now_ms else None
    return key_expiry(timeout, now_ms)


def record_data(record: Record) -> Any:
    """A record's ``data`` as the server's race check reads it: the envelope's ``data``,
    ``""`` for a control record or any body that is not an envelope."""
    try:
        parsed = json.loads(record.body)
    except ValueError:
        return ""
    data = parsed.get("data") if isinstance(parsed, dict) else None
    return "" if data is None else data


def first_output(channel: Channel | None, last_seq_num: float | None) -> str | None:
    """The output the race check completes a new waitpoint with: the ``data`` of the first
    record after ``last_seq_num``, if any. The server reads from ``lastSeqNum + 1``; when
    that is not a sequence number, or the record's data is not text, its check fails and
    the waitpoint waits for the next append, so here it gives ``None`` too."""
    start = 0 if last_seq_num is None else last_seq_num + 1
    if channel is None or start < 0 or start != int(start):
        return None
    first = next((r for r in channel.read(int(start)) if not r.is_command), None)
    data = None if first is None else record_data(first)
    return data if isinstance(data, str) else None


@dataclass(frozen=True, slots=True)
class WaitRequest:
    """A ``session-streams/wait`` body, with ``tags`` already a list."""

    session: str
    io: str
    timeout: str | None = None
    idempotency_key: str | None = None
    idempotency_key_ttl: str | None = None
    tags: tuple[str, ...] = ()
    last_seq_num: float | None = None


@dataclass(slots=True)
class Waitpoint:
    id: str
    stream: StreamKey
    created_at: int
    tags: list[str]
    runs: set[str] = field(default_factory=set)
    """The runs it was created for or handed to (an idempotent repeat from another run)."""
    timeout_at: int | None = None
    idempotency_key: str | None = None
    idempotency_key_expires_at: int | None = None
    completed_at: int | None = None
    output: str | None = None
    output_is_error: bool = False
    charged: int = 0
    """What it counts against the waitpoints' budget (:mod:`.waitpoint_budget`)."""

    @property
    def cost(self) -> int:
        strings = len(self.idempotency_key or "") + sum(map(len, self.tags))
        return WAITPOINT_COST + strings + len(self.output or "")

    @property
    def status(self) -> str:
        if self.completed_at is None:
            return WAITING
        return TIMED_OUT if self.output_is_error else COMPLETED

    def complete(self, output: str, now_ms: int) -> None:
        self.completed_at = now_ms
        self.output = output

    def settle(self, now_ms: int) -> bool:
        """Time out a waiting waitpoint whose timeout has passed; whether it is done."""
        if self.completed_at is None and self.timeout_at is not None and now_ms >= self.timeout_at:
            message = f"Waitpoint timed out at {iso_ms(self.timeout_at)}"
            self.output = dump_json({"code": TIMEOUT_CODE, "message": message}).decode()
            self.completed_at = self.timeout_at
            self.output_is_error = True
        return self.completed_at is not None

    def to_wire(self, url: str) -> dict[str, Any]:
        """The token as ``GET /api/v1/waitpoints/tokens/{waitpoint}`` returns it."""
        body: dict[str, Any] = {"id": self.id, "url": url, "status": self.status}
        if self.completed_at is not None:
            body["completedAt"] = iso_ms(self.completed_at)
        if self.timeout_at is not None:
            body["timeoutAt"] = iso_ms(self.timeout_at)
        if self.idempotency_key is not None:
            body["idempotencyKey"] = self.idempotency_key
        if self.idempotency_key_expires_at is not None:
            body["idempotencyKeyExpiresAt"] = iso_ms(self.idempotency_key_expires_at)
        body["tags"] = list(self.tags)
        body["createdAt"] = iso_ms(self.created_at)
        if self.output is not None:
            body["output"] = self.output
        body["outputType"] = OUTPUT_TYPE
        body["outputIsError"] = self.output_is_error
        return body


@dataclass(frozen=True, slots=True)
class Created:
    waitpoint: Waitpoint
    is_cached: bool


class _Environment:
    __slots__ = ("by_id", "by_key", "pending")

    def __init__(self) -> None:
        self.by_id: dict[str, Waitpoint] = {}
        self.by_key: dict[str, Waitpoint] = {}
        self.pending: dict[StreamKey, list[Waitpoint]] = {}

    def register(self, waitpoint: Waitpoint, stream: StreamKey) -> None:
        waiting = self.pending.setdefault(stream, [])
        if waitpoint not in waiting:
            waiting.append(waitpoint)


class Waitpoints:
    """Every environment's run-side waitpoints. Each call is atomic under one lock."""

    def __init__(self, realtime: Realtime) -> None:
        self.realtime = realtime
        self._lock = threading.RLock()
        self._environments: dict[str, _Environment] = {}
        self.budget = WaitpointBudget()
        realtime.on_part.append(self.part_appended)
        realtime.on_reset.append(self.reset)

    def _now(self) -> int:
        return self.realtime.clock.now_ms()

    def create(self, env_id: str, run_id: str, request: WaitRequest) -> Created:
        """A waitpoint for ``run_id`` on the channel ``request`` names (or the live one
        with the same idempotency key)."""
        if not self.realtime.sessions.knows_run(env_id, run_id):
            raise RunNotFound()
        stream = self.realtime.target(
            env_id, request.session, request.io, None, not_found=SessionNotFound
        ).stream
        now = self._now()
        if len(request.tags) > MAX_TAGS:
            raise TooManyWaitpointTags(len(request.tags), MAX_TAGS)
        key = request.idempotency_key
        with self._lock:
            env = self._environments.setdefault(env_id, _Environment())
            cached = None if key is None else env.by_key.get(key)
            expires = None if cached is None else cached.idempotency_key_expires_at
            if cached is not None and (expires is None or now <= expires):
                cached.runs.add(run_id)
                if not cached.settle(now):
                    env.register(cached, stream)
                return Created(self._copy(cached), is_cached=True)
            waitpoint = Waitpoint(
                id=WAITPOINT_PREFIX + self.realtime.ids.cuid(),
                stream=stream,
                created_at=now,
                tags=list(request.tags),
                runs={run_id},
                timeout_at=timeout_at(request.timeout, now),
                idempotency_key=key,
                idempotency_key_expires_at=key_expiry(request.idempotency_key_ttl, now)
                if key is not None
                else None,
            )
            output = first_output(self.realtime.channels.peek(env_id, stream), request.last_seq_num)
            if output is not None:
                waitpoint.complete(output, now)
            if not self._room_for(waitpoint):
                raise WaitpointLimitReached(
                    "trigger-mock keeps at most 64 MiB of waitpoints and waiting ones fill "
                    "it: complete some, or reset"
                )
            env.by_id[waitpoint.id] = waitpoint
            if key is not None:
                env.by_key[key] = waitpoint
            if output is None:
                env.register(waitpoint, stream)
            self.budget.kept(env_id, waitpoint)
            return Created(self._copy(waitpoint), is_cached=False)

    def _room_for(self, waitpoint: Waitpoint) -> bool:
        """Forget completed waitpoints, oldest first, until this one fits; whether it
        does."""
        self.budget.bytes += waitpoint.cost  # as if kept already
        fits = self.budget.fit(self._forget)
        self.budget.bytes -= waitpoint.cost
        return fits

    def _forget(self, env_id: str, waitpoint: object) -> None:
        env = self._environments.get(env_id)
        if env is None or not isinstance(waitpoint, Waitpoint):
            return
        env.by_id.pop(waitpoint.id, None)
        key = waitpoint.idempotency_key
        if key is not None and env.by_key.get(key) is waitpoint:
            del env.by_key[key]

    def part_appended(self, env_id: str, stream: StreamKey, text: str) -> None:
        """Complete every waitpoint registered on ``stream`` with the part just appended."""
        now = self._now()
        with self._lock:
            env = self._environments.get(env_id)
            for waitpoint in [] if env is None else env.pending.pop(stream, []):
                if not waitpoint.settle(now):
                    waitpoint.complete(text, now)
                self.budget.recharge(waitpoint)
            self.budget.fit(self._forget)

    def block(self, env_id: str, run_id: str, waitpoint_id: str) -> None:
        """``run_id`` waits on the waitpoint: it must be one the run was given."""
        with self._lock:
            env = self._environments.get(env_id)
            waitpoint = None if env is None else env.by_id.get(waitpoint_id)
            if waitpoint is None:
                raise WaitpointNotFound()
            if run_id in waitpoint.runs:
                return
        if not self.realtime.sessions.knows_run(env_id, run_id):
            raise RunNotFound()
        raise WaitpointNotFound()

    def retrieve(self, env_id: str, waitpoint_id: str) -> Waitpoint:
        """The waitpoint as it stands now (a copy)."""
        now = self._now()
        with self._lock:
            env = self._environments.get(env_id)
            waitpoint = None if env is None else env.by_id.get(waitpoint_id)
            if waitpoint is None:
                raise WaitpointNotFound()
            waitpoint.settle(now)
            self.budget.recharge(waitpoint)
            return self._copy(waitpoint)

    @staticmethod
    def _copy(waitpoint: Waitpoint) -> Waitpoint:
        return replace(waitpoint, tags=list(waitpoint.tags), runs=set(waitpoint.runs))

    def reset(self, env_id: str | None = None) -> None:
        """Forget every waitpoint, or one environment's."""
        with self._lock:
            if env_id is None:
                self._environments = {}
            else:
                self._environments.pop(env_id, None)
            self.budget.clear(env_id)
