"""What a stored session costs the garbage collector: one object to walk, however big its
JSON values (the CI guard behind close's p99 in docs/performance.md; counted, not timed)."""

from __future__ import annotations

import asyncio
import gc
import json

from mock_server.app import MockApp, create_app
from mock_server.core.settings import Settings
from mock_server.http.journal import DEFAULT_CAPACITY
from tests.support import asgi_exchange

KEY = "tr_dev_heapcensus000"
HEADERS = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
BODY = {
    "type": "chat.agent",
    "taskIdentifier": "my-chat-agent",
    "triggerConfig": {"basePayload": {"chatId": "c", "nested": {"list": [1, 2, [3]]}},
                      "tags": ["chat"], "maxAttempts": 3},
    "tags": ["user:1", "plan:pro"],
    "metadata": {"userId": "u", "history": [{"at": 1}, {"at": 2}]},
}  # fmt: skip


def create(app: MockApp, names: range) -> None:
    async def run() -> None:
        for n in names:
            raw = json.dumps({**BODY, "externalId": f"heap-{n}"}).encode()
            status, _, _ = await asgi_exchange(app, "POST", "/api/v1/sessions", raw, HEADERS)
            assert status == 201

    asyncio.run(run())


def tracked() -> int:
    gc.collect()
    return len(gc.get_objects())


def test_a_session_made_through_the_api_is_one_object_for_the_collector() -> None:
    app = create_app(Settings())
    create(app, range(DEFAULT_CAPACITY + 100))  # the journal full: its size stays put
    before = tracked()
    create(app, range(DEFAULT_CAPACITY + 100, DEFAULT_CAPACITY + 1100))
    per_session = (tracked() - before) / 1000
    assert per_session <= 1.05, f"{per_session:.2f} tracked objects per stored session"


def test_a_stored_sessions_values_are_not_containers() -> None:
    app = create_app(Settings())
    create(app, range(1))
    (session,) = app.state.store.snapshot()[next(iter(app.state.store.snapshot()))]
    gc.collect()
    assert not gc.is_tracked(session.tags)
    assert session.trigger_config == BODY["triggerConfig"]  # read back whole
    assert session.metadata == BODY["metadata"]
    session.metadata["userId"] = "changed"  # a copy: the stored value stays
    assert session.metadata == BODY["metadata"]
