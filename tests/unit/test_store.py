"""The store's rules, called directly."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from mock_server.core.clock import ControllableClock
from mock_server.core.errors import ValidationFailed
from mock_server.core.ids import IdSource
from mock_server.sessions.errors import (
    ExternalIdImmutable,
    SessionClosed,
    SessionExpired,
    SessionNotFound,
)
from mock_server.sessions.listing import ListQuery
from mock_server.sessions.model import SessionStatus
from mock_server.sessions.requests import NewSession, SessionChanges
from mock_server.sessions.store import SessionStore

ENV = "cenv"


class FixedTime:
    def __init__(self) -> None:
        self.now = 1_800_000_000_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def time_source() -> FixedTime:
    return FixedTime()


@pytest.fixture
def store(time_source: FixedTime) -> SessionStore:
    clock = ControllableClock(time_source)
    return SessionStore(clock, IdSource(clock, seed=1))


def new(**fields: object) -> NewSession:
    values: dict[str, object] = {
        "type": "chat",
        "task_identifier": "t",
        "trigger_config": {"basePayload": {}},
    }
    values.update(fields)
    return NewSession(**values)  # type: ignore[arg-type]


def test_create_then_cached_then_refused_after_close(store: SessionStore) -> None:
    first = store.create(ENV, new(external_id="e"))
    again = store.create(ENV, new(external_id="e", tags=["ignored"]))
    assert not first.is_cached and again.is_cached and again.session is first.session
    assert again.session.tags == ()
    store.close(ENV, "e", "done")
    with pytest.raises(SessionClosed):
        store.create(ENV, new(external_id="e"))


def test_expiry_is_derived_from_the_clock(store: SessionStore, time_source: FixedTime) -> None:
    session = store.create(ENV, new(external_id="x", expires_at=time_source.now + 1000)).session
    assert session.status(time_source.now) is SessionStatus.ACTIVE
    time_source.now += 1001
    assert session.status(time_source.now) is SessionStatus.EXPIRED
    with pytest.raises(SessionExpired):
        store.create(ENV, new(external_id="x"))
    with pytest.raises(SessionExpired):
        store.create(ENV, new(expires_at=time_source.now - 1))
    assert store.count(ENV) == 1
    store.close(ENV, "x", None)
    assert session.status(time_source.now) is SessionStatus.CLOSED


def test_refreshing_trigger_config_on_a_cached_create(time_source: FixedTime) -> None:
    clock = ControllableClock(time_source)
    store = SessionStore(clock, IdSource(clock), refresh_trigger_config_on_cached_create=True)
    first = store.create(
        ENV, new(external_id="r", trigger_config={"basePayload": {"v": 1}})
    ).session
    time_source.now += 5
    store.create(ENV, new(external_id="r", trigger_config={"basePayload": {"v": 2}}))
    assert first.trigger_config == {"basePayload": {"v": 2}}
    assert first.updated_at == time_source.now


@pytest.mark.parametrize("external_id", ["", " \u00a0\ufeff", " session_abc"])
def test_external_ids_are_trimmed_like_javascript_does(
    store: SessionStore, external_id: str
) -> None:
    with pytest.raises(ValidationFailed):
        store.create(ENV, new(external_id=external_id))
    with pytest.raises(ValidationFailed):
        SessionChanges(external_id=external_id)
    assert store.count() == 0
    assert new(external_id="\u2028 id \ufeff").external_id == "id"


def test_lookup_is_by_id_or_external_id_exactly(store: SessionStore) -> None:
    session = store.create(ENV, new(external_id="Chat")).session
    assert store.get(ENV, session.friendly_id) is session
    assert store.get(ENV, "Chat") is session
    for ref in ("chat", session.internal_id, " Chat"):
        with pytest.raises(SessionNotFound):
            store.get(ENV, ref)
    with pytest.raises(SessionNotFound):
        store.get("another-env", "Chat")


def test_update_rules(store: SessionStore, time_source: FixedTime) -> None:
    session = store.create(ENV, new(external_id="u", tags=["a"])).session
    time_source.now += 10
    assert store.update(ENV, "u", SessionChanges()).updated_at == session.created_at
    store.update(ENV, "u", SessionChanges(tags=["b"], metadata={"k": 1}))
    assert session.tags == ("b",) and session.metadata == {"k": 1}
    assert session.updated_at == time_source.now
    store.update(ENV, "u", SessionChanges(metadata=None))
    assert session.metadata is None
    for change in ("v", None):
        with pytest.raises(ExternalIdImmutable):
            store.update(ENV, "u", SessionChanges(external_id=change))
    store.update(ENV, "u", SessionChanges(external_id="u"))


def test_close_is_terminal_and_keeps_the_first_close(
    store: SessionStore, time_source: FixedTime
) -> None:
    session = store.create(ENV, new()).session
    store.close(ENV, session.friendly_id, "first")
    closed_at = session.closed_at
    time_source.now += 1000
    assert store.close(ENV, session.friendly_id, "second").session.closed_reason == "first"
    assert session.closed_at == closed_at == session.updated_at
    assert session.current_run_id is not None


def test_reset_drops_one_environment_or_everything(store: SessionStore) -> None:
    store.create("a", new())
    store.create("a", new())
    store.create("b", new())
    assert store.reset("a") == 2 and store.count() == 1
    assert store.reset() == 1 and store.count() == 0


def test_a_full_reset_restarts_seeded_ids(store: SessionStore) -> None:
    first = store.create(ENV, new()).session.internal_id
    store.reset()
    assert store.create(ENV, new()).session.internal_id == first


def test_threads_creating_one_external_id_get_one_session(store: SessionStore) -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: store.create(ENV, new(external_id="same")), range(200)))
    assert sum(not r.is_cached for r in results) == 1
    assert len({id(r.session) for r in results}) == 1
    page = store.page(ENV, ListQuery(size=100))
    assert len(page.rows) == 1


def test_listeners_hear_of_each_new_session_and_each_first_close(store: SessionStore) -> None:
    heard: list[tuple[str, str, str | None]] = []
    store.events.created.append(lambda env, s: heard.append(("created", env, s.external_id)))
    store.events.closed.append(lambda env, s: heard.append(("closed", env, s.closed_reason)))
    store.create(ENV, new(external_id="a"))
    store.create(ENV, new(external_id="a"))  # cached: nothing new
    store.create(ENV, new(external_id="quiet"), announce=False)  # a seed's
    store.close(ENV, "a", "done")
    store.close(ENV, "a", "again")  # already closed
    store.update(ENV, "a", SessionChanges(tags=["x"]))
    restored = store.create("other", new(external_id="r"), announce=False).session
    store.reset("other")
    store.adopt("other", restored)  # back from a state file: nothing happened to it
    assert heard == [("created", ENV, "a"), ("closed", ENV, "done")]


def test_listeners_run_after_the_lock_is_released(store: SessionStore) -> None:
    """A listener may wait on another thread that uses the store."""
    seen: list[int] = []

    def listener(env: str, session: object) -> None:
        pool = ThreadPoolExecutor(1)
        try:  # blocks, and times out, if the store's lock were still held
            seen.append(pool.submit(store.count, env).result(timeout=2))
        finally:
            pool.shutdown(wait=False)

    store.events.created.append(listener)
    store.events.closed.append(listener)
    store.create(ENV, new(external_id="a"))
    store.close(ENV, "a", None)
    assert seen == [1, 1]
