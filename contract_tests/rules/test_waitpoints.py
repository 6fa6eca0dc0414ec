"""Run-side waitpoints: a session's run registers a waitpoint on its channel, an append
completes it, and the token reads back completed with the part as its output."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ..harness.channels import append
from ..harness.client import ContractApi

pytestmark = [pytest.mark.anyio, pytest.mark.writes]

UNKNOWN_RUN = "run_0000000000000000000000000a"


async def register(api: ContractApi, run: str, **body: Any) -> httpx.Response:
    return await api.request("POST", f"/api/v1/runs/{run}/session-streams/wait", json=body)


async def token(api: ContractApi, waitpoint_id: str) -> dict[str, Any]:
    response = await api.request("GET", f"/api/v1/waitpoints/tokens/{waitpoint_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_an_append_to_in_completes_the_runs_waitpoint(api: ContractApi) -> None:
    ext = api.ext()
    created = await api.created_session(externalId=ext)
    run = created["runId"]
    made = await register(api, run, session=created["id"], io="in", timeout="1h")
    assert made.status_code == 200, made.text
    assert made.json()["isCached"] is False
    waitpoint_id = made.json()["waitpointId"]
    assert waitpoint_id.startswith("waitpoint_")
    blocked = await api.request(
        "POST", f"/engine/v1/runs/{run}/waitpoints/tokens/{waitpoint_id}/wait"
    )
    assert (blocked.status_code, blocked.json()) == (200, {"success": True})
    assert (await token(api, waitpoint_id))["status"] == "WAITING"
    part = '{"kind":"message","text":"wake up"}'
    assert (await append(api, ext, "in", part)).status_code == 200
    done = await token(api, waitpoint_id)
    assert (done["id"], done["status"], done["output"]) == (waitpoint_id, "COMPLETED", part)
    assert done["outputIsError"] is False


async def test_a_record_already_on_the_channel_completes_it_at_once(api: ContractApi) -> None:
    ext = api.ext()
    created = await api.created_session(externalId=ext)
    assert (await append(api, ext, "in", "early")).status_code == 200
    early = await register(api, created["runId"], session=ext, io="in")
    assert (await token(api, early.json()["waitpointId"]))["output"] == "early"
    seen = await register(api, created["runId"], session=ext, io="in", lastSeqNum=0)
    assert (await token(api, seen.json()["waitpointId"]))["status"] == "WAITING"


async def test_the_same_idempotency_key_returns_the_same_waitpoint(api: ContractApi) -> None:
    ext = api.ext()
    created = await api.created_session(externalId=ext)
    key = api.ext("waitpoint-key")
    first = await register(api, created["runId"], session=ext, io="in", idempotencyKey=key)
    again = await register(api, created["runId"], session=ext, io="in", idempotencyKey=key)
    assert first.status_code == again.status_code == 200
    assert again.json() == {"waitpointId": first.json()["waitpointId"], "isCached": True}


async def test_unknown_runs_and_sessions_are_404(api: ContractApi) -> None:
    ext = api.ext()
    created = await api.created_session(externalId=ext)
    no_run = await register(api, UNKNOWN_RUN, session=ext, io="in")
    assert (no_run.status_code, no_run.json()) == (404, {"error": "Run not found"})
    no_session = await register(
        api, created["runId"], session="session_cnotasession0000000000000", io="in"
    )
    assert (no_session.status_code, no_session.json()) == (404, {"error": "Session not found"})


async def test_more_than_ten_tags_are_refused(api: ContractApi) -> None:
    ext = api.ext()
    created = await api.created_session(externalId=ext)
    tags = [f"t{n}" for n in range(11)]
    refused = await register(api, created["runId"], session=ext, io="in", tags=tags)
    assert (refused.status_code, refused.json()) == (
        422,
        {"error": "Waitpoints can only have 10 tags, you're trying to set 11."},
    )


@pytest.mark.mock_only
async def test_a_waitpoint_times_out_on_the_fakes_clock(api: ContractApi) -> None:
    ext = api.ext()
    created = await api.created_session(externalId=ext)
    made = await register(api, created["runId"], session=ext, io="in", timeout="30s")
    await api.set_clock(advanceSeconds=31)
    timed_out = await token(api, made.json()["waitpointId"])
    assert (timed_out["status"], timed_out["outputIsError"]) == ("TIMED_OUT", True)
