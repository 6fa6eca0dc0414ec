"""The ``/_mock/`` control plane, one method per operationId in ``openapi/admin.yaml``."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from starlette.responses import Response

from .. import __version__
from ..auth.environments import (
    KEY_PREFIX,
    Environments,
    environment_id_of,
    restricted_scopes,
)
from ..auth.errors import InvalidApiKey
from ..channels.agent import Agent
from ..channels.realtime import Realtime
from ..control.records import write_records
from ..control.seeding import Seed
from ..control.tail import MAX_RECORDS, read_records, session_streams
from ..core.clock import ClockState, ControllableClock
from ..core.errors import BadControlRequest, ControlTargetNotFound
from ..core.fidelity import Behaviour
from ..core.times import iso_ms, parse_iso_ms
from ..http.journal import RequestJournal
from ..http.responses import json_response
from ..sessions.browse import DEFAULT_SORT, Browsed, BrowseQuery
from ..sessions.model import SessionStatus
from ..sessions.store import SessionStore
from .failures import FailureHandlers
from .limits import LimitsHandlers


def _clock_wire(state: ClockState) -> dict[str, Any]:
    return {
        "now": iso_ms(state.now_ms),
        "offsetMs": state.offset_ms,
        "frozen": state.frozen,
        "real": state.is_real,
    }


class AdminHandlers:
    def __init__(
        self,
        store: SessionStore,
        clock: ControllableClock,
        environments: Environments,
        behaviour: Behaviour,
        *,
        realtime: Realtime,
        agent: Agent,
        journal: RequestJournal,
        seed: Seed | None = None,
        admin_token_required: bool,
        failures: FailureHandlers,
        limits: LimitsHandlers,
    ) -> None:
        self.failures = failures
        self.limits = limits
        self.journal = journal
        self.seed = seed
        self.realtime = realtime
        self.agent = agent
        self.store = store
        self.clock = clock
        self.environments = environments
        self.behaviour = behaviour
        self.admin_token_required = admin_token_required

    async def mock_health(self) -> Response:
        return json_response(
            {
                "status": "ok",
                "fidelity": self.behaviour.fidelity.value,
                "version": __version__,
                "sessions": self.store.count(),
                "environments": len(self.store.environment_ids()),
                "adminTokenRequired": self.admin_token_required,
                "clock": _clock_wire(self.clock.state()),
                "liveReaders": self.realtime.channels.live_readers,
                "faults": len(self.failures.book.rules()),
                "rateLimit": self.failures.limiter.describe()["policy"],
                **self.limits.health(),
            }
        )

    async def mock_reset(self, body: dict[str, Any] | None = None) -> Response:
        target = (body or {}).get("environment")
        if target is None:
            dropped = self.store.reset()
            self.realtime.reset()
            self.journal.clear()
            self.clock.reset()
            self.failures.reset()
            self.limits.reset()
            self.environments.forget_passing()
            if self.seed is not None:  # reset is a rebuild: back to the seeded state
                self.seed.apply(self.realtime, self.environments)
        else:
            dropped = self.store.reset(environment_id_of(target))
            self.realtime.reset(environment_id_of(target))
            self.failures.book.clear_environment(environment_id_of(target))
        return json_response({"dropped": dropped})

    async def mock_sessions(
        self,
        environment: str | None = None,
        q: str | None = None,
        type: str | None = None,
        status: str | None = None,
        tag: str | None = None,
        sort: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Response:
        now = self.clock.now_ms()
        chosen = None if environment is None else environment_id_of(environment)
        paged = any(given is not None for given in (q, type, status, tag, sort, limit, offset))
        if not paged:  # the whole dump, oldest first, as before paging existed
            found = {
                env_id: Browsed(len(rows), rows)
                for env_id, rows in self.store.snapshot(chosen).items()
            }
        else:
            query = BrowseQuery(
                text=q or None,
                type=type,
                status=None if status is None else SessionStatus(status),
                tag=tag,
                sort=sort or DEFAULT_SORT,
                limit=limit,
                offset=offset or 0,
            )
            found = self.store.browse(chosen, query)
        environments = []
        for env_id, page in found.items():
            known = self.environments.by_id(env_id)
            rows = [s.to_wire() | {"status": s.status(now).value} for s in page.rows]
            listed = {"id": env_id, "kind": known.kind if known else None, "sessions": rows}
            environments.append({**listed, "total": page.total} if paged else listed)
        return json_response({"environments": environments})

    async def mock_read_records(
        self,
        session: str,
        io: str,
        environment: str,
        channel: str | None = None,
        after: int | None = None,
        wait: float = 0,
        limit: int = MAX_RECORDS,
    ) -> Response:
        env_id = environment_id_of(environment)
        found = await read_records(
            self.realtime,
            env_id,
            unquote(session),
            io,
            channel,
            after=after,
            wait=wait,
            limit=limit,
        )
        return json_response(found)

    async def mock_session_channels(self, session: str, environment: str) -> Response:
        streams = session_streams(self.realtime, environment_id_of(environment), unquote(session))
        return json_response({"channels": streams})

    async def mock_close_session(self, session: str, body: dict[str, Any]) -> Response:
        env_id = environment_id_of(body["environment"])
        closed = self.store.close(env_id, unquote(session), body.get("reason")).session
        return json_response(
            closed.to_wire() | {"status": closed.status(self.clock.now_ms()).value}
        )

    async def mock_get_clock(self) -> Response:
        return json_response(_clock_wire(self.clock.state()))

    async def mock_set_clock(self, body: dict[str, Any]) -> Response:
        moves = [k for k in ("advanceSeconds", "set", "real") if k in body]
        if len(moves) != 1:
            raise BadControlRequest("Give exactly one of advanceSeconds, set or real")
        frozen = bool(body.get("frozen", False))
        if "advanceSeconds" in body:
            state = self.clock.advance(float(body["advanceSeconds"]))
            if frozen and not state.frozen:
                state = self.clock.set(state.now_ms, frozen=True)
        elif "set" in body:
            state = self.clock.set(parse_iso_ms(body["set"]), frozen=frozen)
        else:
            state = self.clock.reset()
        self.realtime.channels.expire()  # records age out, empty streams go, at the new time
        return json_response(_clock_wire(state))

    async def mock_write_records(self, session: str, io: str, body: dict[str, Any]) -> Response:
        env_id = environment_id_of(body["environment"])
        added = write_records(self.realtime, self.agent, env_id, unquote(session), io, body)
        return json_response({"seqNums": added})

    async def mock_end_run(self, session: str, body: dict[str, Any]) -> Response:
        env_id = environment_id_of(body["environment"])
        ended = self.store.end_run(env_id, unquote(session))
        return json_response({"endedRunId": ended.current_run_id, "session": ended.to_wire()})

    async def mock_add_restricted_key(self, body: dict[str, Any]) -> Response:
        named = body["environment"]
        root = named if named.startswith(KEY_PREFIX) else None
        if root is None:
            env = self.environments.by_id(named)
            if env is None:
                raise ControlTargetNotFound(f"No environment {named!r} is known")
            root = env.secret_key
        try:
            kind = self.environments.by_key(root).kind
            key = f"tr_{kind}_sk_{self.store.ids.alnum(24)}"
            scopes = restricted_scopes(key, body["scopes"])
        except (ValueError, InvalidApiKey) as exc:
            raise BadControlRequest(str(exc) or "Not an accepted secret key") from exc
        env = self.environments.restrict(key, scopes, root, lasting=False)
        body = {"key": key, "environment": env.id, "scopes": list(scopes)}
        return json_response(body, 201)
