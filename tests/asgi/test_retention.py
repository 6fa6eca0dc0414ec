"""Channel retention over HTTP, in both modes: records older than 30 days on the fake's
clock leave every read while the numbering carries on, a stream empty for an hour starts
again at 0, and the state file keeps the tail but not the aged records."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server.app import MockApp, create_app
from mock_server.control.persistence import save
from mock_server.core.fidelity import Fidelity
from mock_server.core.settings import Settings
from tests.support import asgi_client, session_body

pytestmark = pytest.mark.anyio
KEY = "tr_dev_retention00000001"
DAY = 24 * 3600
CHAT = "/realtime/v1/sessions/keep-1/in"


@pytest.fixture(params=[Fidelity.DOCUMENTED, Fidelity.DEPLOYED], ids=lambda f: f.value)
def mock(request: pytest.FixtureRequest) -> MockApp:
    return create_app(Settings(fidelity=request.param))


@pytest.fixture
async def client(mock: MockApp) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(mock, KEY) as c:
        answer = await c.post("/api/v1/sessions", json=session_body(externalId="keep-1"))
        assert answer.status_code == 201, answer.text
        yield c


async def append(client: httpx.AsyncClient, text: str) -> int:
    answer = await client.post(f"{CHAT}/append", content=text.encode())
    assert answer.status_code == 200, answer.text
    seq = answer.json()["seq"]
    assert isinstance(seq, int)
    return seq


async def advance(client: httpx.AsyncClient, seconds: int) -> None:
    answer = await client.post("/_mock/clock", json={"advanceSeconds": seconds})
    assert answer.status_code == 200, answer.text


async def listed(client: httpx.AsyncClient) -> list[tuple[int, Any]]:
    answer = await client.get(f"{CHAT}/records")
    assert answer.status_code == 200, answer.text
    return [(r["seqNum"], r["data"]) for r in answer.json()["records"]]


async def subscribed(client: httpx.AsyncClient) -> list[int]:
    """The sequence numbers an SSE read from the start delivers (it ends after 1s quiet)."""
    answer = await client.get(CHAT, headers={"Timeout-Seconds": "1"})
    assert answer.status_code == 200, answer.text
    batches = [
        json.loads(line[len("data: ") :])
        for line in answer.text.splitlines()
        if line.startswith("data: {")
    ]
    return [r["seq_num"] for batch in batches for r in batch.get("records", [])]


async def test_aged_records_leave_every_read_and_the_numbering_carries_on(
    client: httpx.AsyncClient,
) -> None:
    assert [await append(client, "one"), await append(client, "two")] == [0, 1]
    assert await listed(client) == [(0, "one"), (1, "two")]
    await advance(client, 30 * DAY + 60)  # aged out a minute ago: the tail is still there
    assert await append(client, "three") == 2
    assert await listed(client) == [(2, "three")]
    assert await subscribed(client) == [2]
    # Left alone for 30 days and an hour, the stream is forgotten, in one clock move.
    await advance(client, 30 * DAY + 3600 + 1)
    assert await listed(client) == []
    assert await append(client, "again") == 0
    assert await listed(client) == [(0, "again")]


async def test_the_state_file_keeps_the_tail_but_not_aged_records(
    mock: MockApp, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    state = mock.state
    path = tmp_path / "state.json"
    await append(client, "one")
    await append(client, "two")
    save(path, state.store, state.channels, state.environments)
    older = json.loads(path.read_text())  # as an older fake wrote it: no tail
    for env in older["environments"].values():
        for stream in env.get("streams", []):
            assert [r["seq_num"] for r in stream["records"]] == [0, 1]
            del stream["tail"]
    state.clock.advance(30 * DAY + 60)  # no control plane, so no sweep: saving removes them
    save(path, state.store, state.channels, state.environments)
    written = json.loads(path.read_text())
    kept = [s for env in written["environments"].values() for s in env.get("streams", [])]
    assert [(s["io"], s["records"], s["tail"]) for s in kept] == [("in", [], 2)]
    async with asgi_client(create_app(Settings(state_file=str(path))), KEY) as restored:
        assert await listed(restored) == []
        assert await append(restored, "three") == 2
    path.write_text(json.dumps(older))
    async with asgi_client(create_app(Settings(state_file=str(path))), KEY) as restored:
        assert await listed(restored) == [(0, "one"), (1, "two")]
        assert await append(restored, "three") == 2
