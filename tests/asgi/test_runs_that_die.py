"""Runs that die (both modes): the control plane ends a session's run; the next cached
create or append through the API starts a new one, as the server does when it finds the
run dead, and the agent answers from the new run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest

from mock_server.app import create_app
from mock_server.core.fidelity import Fidelity
from mock_server.core.settings import Settings
from tests.asgi.test_agent import Chat, chat_message, text_of
from tests.support import asgi_client, new_key, session_body

pytestmark = pytest.mark.anyio


@pytest.fixture(params=[Fidelity.DOCUMENTED, Fidelity.DEPLOYED], ids=lambda f: f.value)
async def client(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(fidelity=request.param, agent="echo", agent_delay_ms=0))
    async with asgi_client(app, new_key()) as opened:
        yield opened


async def _create(client: httpx.AsyncClient, external_id: str) -> dict[str, Any]:
    response = await client.post("/api/v1/sessions", json=session_body(externalId=external_id))
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


async def _end_run(client: httpx.AsyncClient, ref: str) -> httpx.Response:
    key = client.headers["Authorization"].removeprefix("Bearer ")
    return await client.post(f"/_mock/sessions/{ref}/end-run", json={"environment": key})


async def _retrieve(client: httpx.AsyncClient, ref: str) -> dict[str, Any]:
    return dict((await client.get(f"/api/v1/sessions/{ref}")).json())


async def test_a_cached_create_starts_a_new_run_once_the_run_died(
    client: httpx.AsyncClient,
) -> None:
    first = await _create(client, "chat-dies")
    again = await _create(client, "chat-dies")
    assert again["runId"] == first["runId"]  # alive: the same run

    ended = await _end_run(client, "chat-dies")
    assert ended.status_code == 200
    assert ended.json()["endedRunId"] == first["runId"]
    # Ending it does not change the row yet: the server learns of it on the next call.
    assert (await _retrieve(client, "chat-dies"))["currentRunId"] == first["runId"]

    revived = await _create(client, "chat-dies")
    assert revived["isCached"] is True
    assert revived["runId"].startswith("run_")
    assert revived["runId"] != first["runId"]
    assert revived["currentRunId"] == revived["runId"]
    row = await _retrieve(client, "chat-dies")
    assert row["currentRunId"] == revived["runId"]
    assert row["updatedAt"] >= first["updatedAt"]

    # The new run is alive: one more cached create keeps it.
    assert (await _create(client, "chat-dies"))["runId"] == revived["runId"]


async def test_an_append_starts_a_new_run_and_the_old_id_stays_a_run_of_the_environment(
    client: httpx.AsyncClient,
) -> None:
    first = await _create(client, "chat-append")
    await _end_run(client, "chat-append")
    appended = await client.post("/realtime/v1/sessions/chat-append/in/append", content="{}")
    assert appended.status_code == 200
    current = (await _retrieve(client, "chat-append"))["currentRunId"]
    assert current != first["runId"]
    # end-and-continue from the dead run: known, but no longer current.
    handed = await client.post(
        "/api/v1/sessions/chat-append/end-and-continue",
        json={"callingRunId": first["runId"], "reason": "upgrade"},
    )
    assert handed.status_code == 200
    assert handed.json() == {"runId": current, "swapped": False}


async def test_ending_twice_is_one_death_and_unknown_sessions_are_404(
    client: httpx.AsyncClient,
) -> None:
    first = await _create(client, "chat-twice")
    await _end_run(client, "chat-twice")
    again = await _end_run(client, "chat-twice")
    assert again.json()["endedRunId"] == first["runId"]
    missing = await _end_run(client, "no-such-chat")
    assert missing.status_code == 404
    assert missing.json() == {"error": "Session not found"}


async def test_the_agent_is_silent_while_the_run_is_dead_and_answers_from_the_new_run(
    client: httpx.AsyncClient,
) -> None:
    await _create(client, "chat-agent")
    key = client.headers["Authorization"].removeprefix("Bearer ")
    chat = Chat(client, key, "chat-agent")
    await _end_run(client, "chat-agent")
    # A record written behind the API's back (the control plane) reaches no run.
    written = await client.post(
        "/_mock/sessions/chat-agent/in/records",
        json={"environment": key, "records": [{"data": chat_message("anyone?")}]},
    )
    assert written.status_code == 200
    await anyio.sleep(0.05)
    assert await chat.out() == []
    # An append through the API starts a run first, which answers.
    await chat.send(chat_message("hello again"))
    assert text_of(await chat.turn()) == "echo: hello again"
