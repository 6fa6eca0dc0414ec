"""The fake's state, built from the settings and filled from a state file or a seed:
stores, clock, ids and credentials, wired to each other, with no HTTP in them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..auth.authenticator import Authenticator
from ..auth.environments import Environments
from ..auth.ratelimit import LimitPolicy, RateLimiter
from ..channels.agent import Agent, Script
from ..channels.realtime import Realtime
from ..channels.streams import ChannelStore
from ..channels.waitpoints import Waitpoints
from ..control.persistence import StateFileError, load, restore
from ..control.seeding import Seed
from ..core.clock import ControllableClock
from ..core.fidelity import Behaviour
from ..core.ids import IdSource
from ..core.limits import BoundCounts, Limits
from ..core.settings import Settings
from ..http.failures.rules import FaultBook
from ..http.journal import RequestJournal
from ..sessions.store import SessionStore


@dataclass
class State:
    """Everything the fake knows and the parts that change it, with no HTTP in it."""

    behaviour: Behaviour
    clock: ControllableClock
    ids: IdSource
    environments: Environments
    authenticator: Authenticator
    store: SessionStore
    channels: ChannelStore
    realtime: Realtime
    agent: Agent
    waitpoints: Waitpoints
    journal: RequestJournal
    faults: FaultBook
    limiter: RateLimiter
    limits: Limits
    """The bounds in force (the control plane may change them while serving)."""
    bounds: BoundCounts


def build_state(settings: Settings, clock: ControllableClock | None, ids: IdSource | None) -> State:
    """Empty stores, the clock, ids and credentials, wired to each other."""
    behaviour = Behaviour.of(settings.fidelity)
    limits, bounds = replace(settings.limits), BoundCounts()
    clock = clock or ControllableClock()
    ids = ids or IdSource(clock, settings.seed)
    environments = Environments(settings.secret_keys, limits=limits, bounds=bounds)
    authenticator = Authenticator(environments, clock, algorithms=behaviour.jwt_algorithms)
    store = SessionStore(
        clock,
        ids,
        refresh_trigger_config_on_cached_create=behaviour.cached_create_refreshes_trigger_config,
        deployed_edge_cursors=behaviour.edge_cursors_deployed_style,
        limits=limits,
        bounds=bounds,
    )
    channels = ChannelStore(clock, limits=limits, bounds=bounds)
    realtime = Realtime(store, channels, ids, clock)
    script = Script() if settings.agent in ("off", "echo") else Script.load(Path(settings.agent))
    agent = Agent(
        realtime, authenticator, ids, script=script, delay_seconds=settings.agent_delay_ms / 1000
    )
    if settings.agent != "off":
        agent.attach()
    limiter = RateLimiter(LimitPolicy.parse(settings.rate_limit), authenticator, clock)
    return State(
        behaviour, clock, ids, environments, authenticator, store, channels, realtime, agent,
        Waitpoints(realtime), RequestJournal(), FaultBook(), limiter, limits, bounds,
    )  # fmt: skip


def fill_state(settings: Settings, state: State, api_spec: dict[str, Any]) -> Seed | None:
    """The state file's content if it exists, else the seed file's; the seed, which a full
    reset applies again."""
    seed = None if settings.seed_file is None else Seed.load(Path(settings.seed_file), api_spec)
    if seed is not None:
        seed.register_keys(state.environments)
    if settings.state_file is not None:
        state_path = Path(settings.state_file)
        if state_path.exists():
            restore(load(state_path), state.store, state.channels, state.environments, state.ids)
            return seed
        if not state_path.parent.is_dir():
            raise StateFileError(f"no directory {state_path.parent} for the state file")
    if seed is not None:
        seed.apply(state.realtime, state.environments)
    return seed
