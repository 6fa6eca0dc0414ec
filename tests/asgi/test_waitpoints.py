"""Run-side waitpoints (both modes): a task registers a waitpoint on its session's channel,
the next API append completes it, and the token reads back as the SDK expects. Responses
are validated against openapi.yaml."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from mock_server.app import MockApp, create_app
from mock_server.channels.waitpoints import key_expiry, timeout_at
from mock_server.core.fidelity import Fidelity
from mock_server.core.settings import Settings
from mock_server.core.times import iso_ms, parse_iso_ms
from mock_server.sessions.durations import natural_duration_ms
from tests.support import asgi_client, new_key, session_body

pytestmark = pytest.mark.anyio
NOW = parse_iso_ms("2030-01-01T00:00:00.000Z")


@pytest.fixture(params=[Fidelity.DOCUMENTED, Fidelity.DEPLOYED], ids=lambda f: f.value)
def mock(request: pytest.FixtureRequest) -> MockApp:
    return create_app(Settings(fidelity=request.param, validate_responses=True))


@pytest.fixture
async def client(mock: MockApp) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(mock, new_key()) as opened:
        yield opened


def deployed(mock: MockApp) -> bool:
    return mock.settings.fidelity is Fidelity.DEPLOYED


async def start(client: httpx.AsyncClient, external_id: str = "chat-1") -> dict[str, Any]:
    made = await client.post("/api/v1/sessions", json=session_body(externalId=external_id))
    assert made.status_code == 201, made.text
    return dict(made.json())


async def register(client: httpx.AsyncClient, run: str, **body: Any) -> httpx.Response:
    body.setdefault("session", "chat-1")
    body.setdefault("io", "in")
    return await client.post(f"/api/v1/runs/{run}/session-streams/wait", json=body)


async def waitpoint(client: httpx.AsyncClient, run: str, **body: Any) -> str:
    made = await register(client, run, **body)
    assert made.status_code == 200, made.text
    assert made.json()["isCached"] is False
    return str(made.json()["waitpointId"])


async def token(client: httpx.AsyncClient, waitpoint_id: str) -> dict[str, Any]:
    read = await client.get(f"/api/v1/waitpoints/tokens/{waitpoint_id}")
    assert read.status_code == 200, read.text
    return dict(read.json())


async def append(
    client: httpx.AsyncClient, ref: str, io: str, text: str, part_id: str | None = None
) -> None:
    headers = {} if part_id is None else {"X-Part-Id": part_id}
    sent = await client.post(
        f"/realtime/v1/sessions/{ref}/{io}/append", content=text.encode(), headers=headers
    )
    assert sent.status_code == 200, sent.text


# --- registering, blocking, completing ------------------------------------------------


async def test_the_next_in_append_completes_the_waitpoint_with_the_part(
    client: httpx.AsyncClient,
) -> None:
    session = await start(client)
    run = session["runId"]
    waitpoint_id = await waitpoint(client, run, tags="t1", idempotencyKey="turn-1")
    assert waitpoint_id.startswith("waitpoint_c")
    blocked = await client.post(f"/engine/v1/runs/{run}/waitpoints/tokens/{waitpoint_id}/wait")
    assert (blocked.status_code, blocked.json()) == (200, {"success": True})
    waiting = await token(client, waitpoint_id)
    assert waiting["status"] == "WAITING"
    assert "output" not in waiting and "completedAt" not in waiting and "timeoutAt" not in waiting
    assert (waiting["tags"], waiting["idempotencyKey"]) == (["t1"], "turn-1")
    assert re.fullmatch(
        f"http://[^/]+/api/v1/waitpoints/tokens/{waitpoint_id}/callback/[0-9a-f]{{64}}",
        waiting["url"],
    )
    part = '{"kind":"message","payload":{"actionSource":"webhook","text":"hi"}}'
    await append(client, session["id"], "in", part)
    done = await token(client, waitpoint_id)
    assert done["status"] == "COMPLETED"
    assert done["output"] == '{"kind":"message","payload":{"text":"hi"}}'  # sanitised, as stored
    assert (done["outputType"], done["outputIsError"]) == ("application/json", False)
    assert parse_iso_ms(done["completedAt"]) >= parse_iso_ms(done["createdAt"])


async def test_every_waitpoint_on_the_channel_completes_once(client: httpx.AsyncClient) -> None:
    session = await start(client)
    first = await waitpoint(client, session["runId"], session=session["id"])
    second = await waitpoint(client, session["runId"])
    await append(client, "chat-1", "in", "one")
    await append(client, "chat-1", "in", "two")
    assert [(await token(client, w))["output"] for w in (first, second)] == ["one", "one"]


async def test_only_api_appends_to_that_channel_complete_it(client: httpx.AsyncClient) -> None:
    session = await start(client)
    run = session["runId"]
    on_in = await waitpoint(client, run)
    on_out = await waitpoint(client, run, io="out")
    side = await client.post(
        "/realtime/v1/sessions/chat-1/channels/extra/in/append", content=b"side channel"
    )
    assert side.status_code == 200
    key = client.headers["Authorization"].removeprefix("Bearer ")
    written = await client.post(
        "/_mock/sessions/chat-1/in/records", json={"environment": key, "text": "task's own"}
    )
    assert written.status_code == 200, written.text
    assert (await token(client, on_in))["status"] == "WAITING"
    await append(client, "chat-1", "out", "to the client")
    assert (await token(client, on_in))["status"] == "WAITING"
    assert (await token(client, on_out))["output"] == "to the client"
    closed = await client.post("/api/v1/sessions/chat-1/close", json={})
    assert closed.status_code == 200
    assert (await token(client, on_in))["status"] == "WAITING"


async def test_a_repeated_part_id_still_completes_it(client: httpx.AsyncClient) -> None:
    session = await start(client)
    await append(client, "chat-1", "in", "first", part_id="p")
    waitpoint_id = await waitpoint(client, session["runId"], lastSeqNum=0)
    await append(client, "chat-1", "in", "retried", part_id="p")
    assert (await token(client, waitpoint_id))["output"] == "retried"


async def test_an_external_id_without_a_session_yet_is_a_channel_key(
    client: httpx.AsyncClient,
) -> None:
    run = (await start(client, "other"))["runId"]
    waitpoint_id = await waitpoint(client, run, session="later")
    await start(client, "later")
    await append(client, "later", "in", "arrived")
    assert (await token(client, waitpoint_id))["output"] == "arrived"


# --- the race check -----------------------------------------------------------------------


async def test_a_record_already_there_completes_it_at_once(client: httpx.AsyncClient) -> None:
    session = await start(client)
    run = session["runId"]
    await append(client, "chat-1", "in", "zero")
    await append(client, "chat-1", "in", "one")
    assert (await token(client, await waitpoint(client, run)))["output"] == "zero"
    assert (await token(client, await waitpoint(client, run, lastSeqNum=0)))["output"] == "one"
    seen_all = await waitpoint(client, run, lastSeqNum=1)
    assert (await token(client, seen_all))["status"] == "WAITING"
    for odd in (0.5, -3):  # not a sequence number: the server's read fails, so it waits
        assert (await token(client, await waitpoint(client, run, lastSeqNum=odd)))[
            "status"
        ] == "WAITING"


# --- refusals -----------------------------------------------------------------------------


async def test_unknown_runs_and_sessions(client: httpx.AsyncClient) -> None:
    session = await start(client)
    unknown_run = await register(client, "run_0000000000000000000000000a")
    assert (unknown_run.status_code, unknown_run.json()) == (404, {"error": "Run not found"})
    unknown = await register(client, session["runId"], session="session_cnope00000000000000000000")
    assert (unknown.status_code, unknown.json()) == (404, {"error": "Session not found"})
    swap = await client.post(
        "/api/v1/sessions/chat-1/end-and-continue",
        json={"callingRunId": session["runId"], "reason": "upgrade"},
    )
    assert swap.json()["swapped"] is True
    assert (await register(client, session["runId"])).status_code == 200  # a retired run


async def test_an_idempotency_key_returns_the_same_waitpoint(client: httpx.AsyncClient) -> None:
    run = (await start(client))["runId"]
    other_run = (await start(client, "chat-2"))["runId"]
    first = await waitpoint(client, run, idempotencyKey="k", idempotencyKeyTTL="1m")
    again = await register(client, run, idempotencyKey="k")
    assert again.json() == {"waitpointId": first, "isCached": True}
    from_other = await register(client, other_run, idempotencyKey="k", session="chat-2")
    assert from_other.json() == {"waitpointId": first, "isCached": True}
    wait = await client.post(f"/engine/v1/runs/{other_run}/waitpoints/tokens/{first}/wait")
    assert wait.status_code == 200
    assert (await client.post("/_mock/clock", json={"advanceSeconds": 61})).status_code == 200
    assert (await register(client, run, idempotencyKey="k")).json()["isCached"] is False
    assert (await register(client, run, idempotencyKey="j")).json()["isCached"] is False


async def test_tags_and_bodies(mock: MockApp, client: httpx.AsyncClient) -> None:
    run = (await start(client))["runId"]
    ten = await waitpoint(client, run, tags=[f"t{n}" for n in range(10)])
    assert len((await token(client, ten))["tags"]) == 10
    eleven = await register(client, run, tags=[f"t{n}" for n in range(11)])
    assert (eleven.status_code, eleven.json()) == (
        422,
        {"error": "Waitpoints can only have 10 tags, you're trying to set 11."},
    )
    refused_status = 400 if deployed(mock) else 422
    bad_io = await register(client, run, io="both")
    assert bad_io.status_code == refused_status
    assert "Expected 'out' | 'in', received 'both'" in bad_io.json()["error"]
    long_key = await register(client, run, idempotencyKey="k" * 2049)
    assert long_key.status_code == refused_status
    assert "idempotencyKey must be 2048 characters or less" in long_key.json()["error"]
    no_session = await client.post(f"/api/v1/runs/{run}/session-streams/wait", json={"io": "in"})
    assert no_session.status_code == refused_status
    assert "Required" in no_session.json()["error"]
    big = await register(client, run, timeout="x" * 10_300)
    assert big.status_code == (413 if deployed(mock) else 422)
    assert big.json()["error"] == "Request body too large"
    empty = await client.post(f"/api/v1/runs/{run}/session-streams/wait", content=b"")
    assert (empty.status_code, empty.json()) == (400, {"error": "Request body is empty"})


async def test_a_secret_key_is_needed(client: httpx.AsyncClient) -> None:
    session = await start(client)
    waitpoint_id = await waitpoint(client, session["runId"])
    public = {"Authorization": f"Bearer {session['publicAccessToken']}"}
    for method, path in (
        ("POST", f"/api/v1/runs/{session['runId']}/session-streams/wait"),
        ("POST", f"/engine/v1/runs/{session['runId']}/waitpoints/tokens/{waitpoint_id}/wait"),
        ("GET", f"/api/v1/waitpoints/tokens/{waitpoint_id}"),
    ):
        refused = await client.request(
            method, path, json={"session": "chat-1", "io": "in"}, headers=public
        )
        assert refused.status_code == 401, (path, refused.text)


async def test_blocking_needs_a_waitpoint_the_run_was_given(client: httpx.AsyncClient) -> None:
    run = (await start(client))["runId"]
    other_run = (await start(client, "chat-2"))["runId"]
    waitpoint_id = await waitpoint(client, run)
    answers = [
        await client.post(f"/engine/v1/runs/{r}/waitpoints/tokens/{w}/wait")
        for r, w in (
            (other_run, waitpoint_id),
            ("run_0000000000000000000000000a", waitpoint_id),
            (run, "waitpoint_cnope00000000000000000000"),
        )
    ]
    assert [(a.status_code, a.json()["error"]) for a in answers] == [
        (404, "Waitpoint not found"),
        (404, "Run not found"),
        (404, "Waitpoint not found"),
    ]
    await append(client, "chat-1", "in", "done")
    late = await client.post(f"/engine/v1/runs/{run}/waitpoints/tokens/{waitpoint_id}/wait")
    assert late.status_code == 200  # already complete: the run carries straight on


async def test_waitpoints_belong_to_their_environment(mock: MockApp) -> None:
    async with asgi_client(mock, new_key()) as mine, asgi_client(mock, new_key()) as theirs:
        run = (await start(mine))["runId"]
        waitpoint_id = await waitpoint(mine, run)
        assert (await theirs.get(f"/api/v1/waitpoints/tokens/{waitpoint_id}")).status_code == 404
        assert (await register(theirs, run)).json() == {"error": "Run not found"}


# --- timeouts -----------------------------------------------------------------------------


async def test_a_timeout_passes_on_the_fake_clock(client: httpx.AsyncClient) -> None:
    run = (await start(client))["runId"]
    assert (await client.post("/_mock/clock", json={"set": iso_ms(NOW), "frozen": True})).is_success
    timed = await waitpoint(client, run, timeout="30s")
    answered = await waitpoint(client, run, io="out", timeout="30s")
    assert (await token(client, timed))["timeoutAt"] == "2030-01-01T00:00:30.000Z"
    await append(client, "chat-1", "out", "in time")
    await client.post("/_mock/clock", json={"advanceSeconds": 29.999})
    assert (await token(client, timed))["status"] == "WAITING"
    await client.post("/_mock/clock", json={"advanceSeconds": 0.001})
    gone = await token(client, timed)
    assert (gone["status"], gone["outputIsError"]) == ("TIMED_OUT", True)
    assert gone["completedAt"] == gone["timeoutAt"]
    assert json.loads(gone["output"]) == {
        "code": "TRIGGER_WAITPOINT_TIMEOUT",
        "message": "Waitpoint timed out at 2030-01-01T00:00:30.000Z",
    }
    await append(client, "chat-1", "in", "too late")
    assert (await token(client, timed))["status"] == "TIMED_OUT"
    assert (await token(client, answered))["status"] == "COMPLETED"


async def test_timeouts_as_the_server_reads_them(client: httpx.AsyncClient) -> None:
    run = (await start(client))["runId"]
    await client.post("/_mock/clock", json={"set": iso_ms(NOW), "frozen": True})
    dated = await waitpoint(client, run, timeout="2030-01-02T00:00:00Z")
    assert (await token(client, dated))["timeoutAt"] == "2030-01-02T00:00:00.000Z"
    for none in ("2029-01-01T00:00:00Z", "soon", "1.5h"):
        assert "timeoutAt" not in await token(client, await waitpoint(client, run, timeout=none))


def test_durations_read_as_the_sdk_reads_them() -> None:
    assert natural_duration_ms("1h30m") == 90 * 60_000
    assert natural_duration_ms("1w2d") == 9 * 86_400_000
    assert natural_duration_ms("2hr5s") == 2 * 3_600_000 + 5_000
    assert natural_duration_ms("1d1d") == 86_400_000  # each unit once, as the SDK counts
    for unread in ("", "5ms", "1.5h", "h", "1 h", "\u0661h", "1h" * 60):
        assert natural_duration_ms(unread) is None
    assert timeout_at("2d", NOW) == NOW + 2 * 86_400_000
    assert timeout_at("", NOW) is None
    assert key_expiry("1h", NOW) == NOW + 3_600_000
    assert key_expiry("2030-02-01", NOW) is None  # a TTL is a duration only


# --- reset --------------------------------------------------------------------------------


async def test_a_reset_forgets_waitpoints(mock: MockApp) -> None:
    key, other = new_key(), new_key()
    async with asgi_client(mock, key) as mine, asgi_client(mock, other) as theirs:
        mine_id = await waitpoint(mine, (await start(mine))["runId"])
        theirs_id = await waitpoint(theirs, (await start(theirs))["runId"])
        assert (await mine.post("/_mock/reset", json={"environment": key})).status_code == 200
        assert (await mine.get(f"/api/v1/waitpoints/tokens/{mine_id}")).status_code == 404
        assert (await theirs.get(f"/api/v1/waitpoints/tokens/{theirs_id}")).status_code == 200
        assert (await mine.post("/_mock/reset")).status_code == 200
        assert (await theirs.get(f"/api/v1/waitpoints/tokens/{theirs_id}")).status_code == 404


# --- the bound on what waitpoints keep ------------------------------------------------


async def test_waitpoints_past_their_budget_forget_completed_ones_or_refuse(
    mock: MockApp, client: httpx.AsyncClient
) -> None:
    mock.state.waitpoints.budget.budget = 5000  # four waiting waitpoints' worth
    run = (await start(client))["runId"]
    made = [await waitpoint(client, run) for _ in range(4)]
    refused = await register(client, run)
    assert refused.status_code == 507
    assert refused.headers["x-trigger-mock-limit"] == "waitpoints"
    assert "waitpoints" in refused.json()["error"]
    await append(client, "chat-1", "in", '"' + "x" * 100 + '"')  # completes all four
    assert [(await token(client, w))["status"] for w in made] == ["COMPLETED"] * 4
    newest = await waitpoint(client, run)  # room is made by forgetting the oldest completed
    gone = await client.get(f"/api/v1/waitpoints/tokens/{made[0]}")
    assert gone.status_code == 404
    assert (await token(client, made[1]))["status"] == "COMPLETED"
    assert (await token(client, newest))["id"] == newest
    budget = mock.state.waitpoints.budget
    assert budget.forgotten == 1 and budget.bytes <= budget.budget
