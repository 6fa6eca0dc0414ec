"""The control plane a live dashboard reads: sessions searched and paged, a session's
streams and a live tail of their records, and closing a session. (The journal's calls are
in test_control_plane_journal.py.)"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from mock_server.app import MockApp, create_app
from mock_server.core.settings import Settings
from mock_server.sessions.requests import NewSession
from tests.support import asgi_client, new_key, session_body

pytestmark = pytest.mark.anyio


@pytest.fixture
def app() -> MockApp:
    return create_app(Settings(agent="off"))


@pytest.fixture
async def client(app: MockApp) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app, new_key()) as opened:
        yield opened


def key_of(client: httpx.AsyncClient) -> str:
    return client.headers["Authorization"].removeprefix("Bearer ")


async def create(client: httpx.AsyncClient, external_id: str, **fields: Any) -> dict[str, Any]:
    body = session_body(externalId=external_id, **fields)
    response = await client.post("/api/v1/sessions", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def browse(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/_mock/sessions", params={"environment": key_of(client), **params})
    assert response.status_code == 200, response.text
    (env,) = response.json()["environments"]
    return dict(env)


def external_ids(env: dict[str, Any]) -> list[str]:
    return [s["externalId"] for s in env["sessions"]]


# --- sessions: search and paging --------------------------------------------------------


async def test_without_new_parameters_the_dump_is_as_before(client: httpx.AsyncClient) -> None:
    for n in range(3):
        await create(client, f"dump-{n}")
    env = await browse(client)
    assert "total" not in env
    assert external_ids(env) == ["dump-0", "dump-1", "dump-2"]  # oldest first, all of them
    assert env["sessions"][0]["status"] == "ACTIVE"


async def test_pages_come_newest_first_with_the_total(client: httpx.AsyncClient) -> None:
    for n in range(5):
        await create(client, f"page-{n}")
    first = await browse(client, limit=2)
    assert (first["total"], external_ids(first)) == (5, ["page-4", "page-3"])
    last = await browse(client, limit=2, offset=4)
    assert (last["total"], external_ids(last)) == (5, ["page-0"])
    assert external_ids(await browse(client, sort="createdAt", limit=2, offset=1)) == [
        "page-1",
        "page-2",
    ]
    assert external_ids(await browse(client, offset=10)) == []
    assert len((await browse(client, sort="-createdAt"))["sessions"]) == 5  # no limit: all


async def test_search_and_filters(app: MockApp, client: httpx.AsyncClient) -> None:
    await create(client, "Alpha-1", type="support.agent", tags=["user:ann"])
    plain = await create(client, "beta-2", tags=["user:bob"])
    await create(client, "gamma-3", taskIdentifier="billing-task", tags=["user:bob"])
    closing = await client.post("/api/v1/sessions/gamma-3/close", json={"reason": "done"})
    assert closing.status_code == 200
    expiring = session_body(externalId="delta-4", expiresAt="2099-01-01T00:00:00.000Z")
    assert (await client.post("/api/v1/sessions", json=expiring)).status_code == 201

    assert external_ids(await browse(client, q="ALPHA")) == ["Alpha-1"]  # any case
    assert external_ids(await browse(client, q="support")) == ["Alpha-1"]  # type
    assert external_ids(await browse(client, q="billing")) == ["gamma-3"]  # task
    assert external_ids(await browse(client, q="ann")) == ["Alpha-1"]  # tag
    assert external_ids(await browse(client, q=plain["id"][4:])) == ["beta-2"]  # id
    assert external_ids(await browse(client, q=plain["id"].upper())) == ["beta-2"]
    assert external_ids(await browse(client, type="support.agent")) == ["Alpha-1"]
    assert external_ids(await browse(client, tag="user:bob")) == ["gamma-3", "beta-2"]
    assert external_ids(await browse(client, tag="user:bob", status="ACTIVE")) == ["beta-2"]
    assert external_ids(await browse(client, status="CLOSED")) == ["gamma-3"]
    assert (await browse(client, type="nothing-of-that-type"))["total"] == 0

    app.state.clock.advance(200 * 365 * 24 * 3600)  # past delta-4's expiresAt
    assert external_ids(await browse(client, status="EXPIRED")) == ["delta-4"]
    active = await browse(client, status="ACTIVE")
    assert sorted(external_ids(active)) == ["Alpha-1", "beta-2"]


async def test_updated_at_order(app: MockApp, client: httpx.AsyncClient) -> None:
    for n in range(3):
        await create(client, f"upd-{n}")
    app.state.clock.advance(60)
    patched = await client.patch("/api/v1/sessions/upd-0", json={"tags": ["touched"]})
    assert patched.status_code == 200
    assert external_ids(await browse(client, sort="-updatedAt"))[0] == "upd-0"
    assert external_ids(await browse(client, sort="updatedAt"))[-1] == "upd-0"


@pytest.mark.parametrize(
    "params",
    [{"sort": "name"}, {"limit": 0}, {"limit": 501}, {"offset": -1}, {"status": "OPEN"}],
)
async def test_bad_browse_parameters_are_400(
    client: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    response = await client.get("/_mock/sessions", params=params)
    assert response.status_code == 400
    assert response.json()["error"] == "Query Error"


async def test_paging_100k_sessions_matches_a_plain_filter(app: MockApp) -> None:
    store, env_id = app.state.store, "c" + "0" * 24
    for n in range(100_000):
        new = NewSession(
            type=f"type-{n % 3}",
            task_identifier="bulk",
            trigger_config={},
            external_id=f"bulk-{n}",
            tags=[f"user:{n % 50}"],
        )
        store.create(env_id, new, announce=False)
        if n % 7 == 0:
            store.close(env_id, f"bulk-{n}", None)
    everything = store.snapshot(env_id)[env_id]  # oldest first
    async with asgi_client(app, new_key()) as client:

        async def page(**params: Any) -> dict[str, Any]:
            response = await client.get("/_mock/sessions", params={"environment": env_id, **params})
            assert response.status_code == 200
            return dict(response.json()["environments"][0])

        found = await page(q="K-9999", status="ACTIVE", limit=5, offset=1)
        wanted = [
            s.external_id
            for s in reversed(everything)
            if "k-9999" in (s.external_id or "").lower() and s.closed_at is None
        ]
        assert found["total"] == len(wanted) > 6
        assert external_ids(found) == wanted[1:6]

        found = await page(type="type-1", tag="user:7", sort="createdAt", limit=50, offset=100)
        wanted = [s.external_id for s in everything if s.type == "type-1" and "user:7" in s.tags]
        assert found["total"] == len(wanted)
        assert external_ids(found) == wanted[100:150]

        found = await page(limit=3, offset=99_998)
        assert (found["total"], external_ids(found)) == (100_000, ["bulk-1", "bulk-0"])


# --- channels: streams, records, the live tail ------------------------------------------


async def read(
    client: httpx.AsyncClient, ref: str, io: str = "out", **params: Any
) -> httpx.Response:
    params = {"environment": key_of(client), **params}
    return await client.get(f"/_mock/sessions/{ref}/{io}/records", params=params)


async def write(client: httpx.AsyncClient, ref: str, io: str, **body: Any) -> list[int]:
    response = await client.post(
        f"/_mock/sessions/{ref}/{io}/records", json={"environment": key_of(client), **body}
    )
    assert response.status_code == 200, response.text
    return list(response.json()["seqNums"])


async def test_records_show_bodies_and_the_data_of_parts(client: httpx.AsyncClient) -> None:
    await create(client, "tail")
    appended = await client.post("/realtime/v1/sessions/tail/in/append", content='{"x":1}')
    assert appended.status_code == 200
    records = [{"data": {"type": "text-delta"}, "id": "p1"}, {"control": "turn-complete"}]
    await write(client, "tail", "out", records=[*records, {"body": "plain text"}])

    into = (await read(client, "tail", "in")).json()
    assert into["tail"] == 1
    (record,) = into["records"]
    assert (record["seqNum"], record["data"], record["headers"]) == (0, '{"x":1}', [])
    assert json.loads(record["body"])["data"] == '{"x":1}'
    assert record["timestamp"].endswith("Z")

    out = (await read(client, "tail")).json()
    assert [r["seqNum"] for r in out["records"]] == [0, 1, 2]
    assert out["records"][0]["data"] == {"type": "text-delta"}
    assert out["records"][1]["headers"] == [["trigger-control", "turn-complete"]]
    assert "data" not in out["records"][1] and "data" not in out["records"][2]
    assert out["records"][2]["body"] == "plain text"
    after = (await read(client, "tail", after=0, limit=1)).json()
    assert [r["seqNum"] for r in after["records"]] == [1]
    assert after["tail"] == 3


async def test_side_channels_and_the_stream_list(client: httpx.AsyncClient) -> None:
    created = await create(client, "streams")
    await write(client, "streams", "out", records=[{"data": 1}, {"data": 2}])
    await write(client, created["id"], "in", channel="tools", records=[{"data": "t"}])
    await client.post("/realtime/v1/sessions/streams/in/append", content="{}")
    side = (await read(client, created["id"], "in", channel="tools")).json()
    assert [r["data"] for r in side["records"]] == ["t"]

    response = await client.get(
        f"/_mock/sessions/{created['id']}/channels", params={"environment": key_of(client)}
    )
    assert response.json() == {
        "channels": [
            {"io": "in", "channel": None, "tail": 1, "records": 1},
            {"io": "out", "channel": None, "tail": 2, "records": 2},
            {"io": "in", "channel": "tools", "tail": 1, "records": 1},
        ]
    }


async def test_unknown_sessions_read_as_the_api_reads(client: httpx.AsyncClient) -> None:
    assert (await read(client, "no-row-yet")).json() == {"records": [], "tail": 0}
    missing = await read(client, "session_cmissingmissingmissing00")
    assert missing.status_code == 404
    listed = await client.get(
        "/_mock/sessions/session_cmissingmissingmissing00/channels",
        params={"environment": key_of(client)},
    )
    assert listed.status_code == 404
    empty = await client.get(
        "/_mock/sessions/no-row-yet/channels", params={"environment": key_of(client)}
    )
    assert empty.json() == {"channels": []}


@pytest.mark.parametrize(
    "params", [{"wait": 26}, {"wait": -1}, {"after": -2}, {"limit": 0}, {"channel": "a b"}]
)
async def test_bad_record_reads_are_400(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    assert (await read(client, "anyone", **params)).status_code == 400


async def test_a_record_read_needs_an_environment(client: httpx.AsyncClient) -> None:
    response = await client.get("/_mock/sessions/anyone/out/records")
    assert response.status_code == 400


async def test_a_waiting_read_wakes_on_the_next_append(client: httpx.AsyncClient) -> None:
    await create(client, "live")
    await client.post("/realtime/v1/sessions/live/in/append", content='"first"')
    started = time.monotonic()
    waiting = asyncio.create_task(read(client, "live", "in", after=0, wait=10))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await client.post("/realtime/v1/sessions/live/in/append", content='"second"')
    response = await asyncio.wait_for(waiting, 1)
    assert time.monotonic() - started < 1.5
    assert [r["data"] for r in response.json()["records"]] == ['"second"']


async def test_a_waiting_read_on_a_new_stream_wakes_too(client: httpx.AsyncClient) -> None:
    waiting = asyncio.create_task(read(client, "not-yet", "out", wait=10))
    await asyncio.sleep(0.2)
    await write(client, "not-yet", "out", records=[{"data": "hello"}])
    response = await asyncio.wait_for(waiting, 1)
    assert [r["data"] for r in response.json()["records"]] == ["hello"]


async def test_a_waiting_read_answers_empty_when_time_is_up(client: httpx.AsyncClient) -> None:
    started = time.monotonic()
    response = await read(client, "quiet", wait=0.3)
    assert 0.25 < time.monotonic() - started < 2
    assert response.json() == {"records": [], "tail": 0}


# --- close ------------------------------------------------------------------------------


async def test_close_from_the_control_plane(client: httpx.AsyncClient) -> None:
    await create(client, "closing")
    body = {"environment": key_of(client), "reason": "from the dashboard"}
    response = await client.post("/_mock/sessions/closing/close", json=body)
    assert response.status_code == 200
    row = response.json()
    assert (row["status"], row["closedReason"]) == ("CLOSED", "from the dashboard")
    assert row["closedAt"] is not None
    (record,) = (await read(client, "closing", "in")).json()["records"]
    assert ["trigger-control", "session-closed"] in record["headers"]
    assert ["session-closed-reason", "from the dashboard"] in record["headers"]

    again = await client.post(
        "/_mock/sessions/closing/close", json={"environment": body["environment"]}
    )
    assert again.json()["closedAt"] == row["closedAt"]
    api_view = (await client.get("/api/v1/sessions/closing")).json()
    assert api_view["closedAt"] == row["closedAt"]


async def test_closing_an_unknown_session_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/_mock/sessions/nobody/close", json={"environment": key_of(client)}
    )
    assert response.status_code == 404
    assert (await client.post("/_mock/sessions/nobody/close", json={})).status_code == 422
