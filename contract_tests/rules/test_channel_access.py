"""Who may use a session's channels, the S2 credentials initialize hands the task, and
end-and-continue."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from ..harness.channels import append, follow, records
from ..harness.client import ContractApi
from ..harness.expect import SCOPE_ERROR, out_of_scope
from .test_auth import sign

pytestmark = [pytest.mark.anyio, pytest.mark.writes]


async def test_the_session_token_writes_in_and_reads_both(api: ContractApi) -> None:
    ext = api.ext()
    token = (await api.created_session(externalId=ext))["publicAccessToken"]
    assert (await append(api, ext, "in", "from the browser", credential=token)).status_code == 200
    assert (await append(api, ext, "out", "from the task")).status_code == 200
    for io in ("in", "out"):
        assert (await records(api, ext, io, credential=token)).status_code == 200
        assert (await follow(api, ext, io, credential=token)).response.status_code == 200


async def test_out_belongs_to_the_task(api: ContractApi) -> None:
    ext = api.ext()
    token = (await api.created_session(externalId=ext))["publicAccessToken"]
    refused = await append(api, ext, "out", "forged", credential=token)
    assert refused.status_code == 403
    assert refused.json() == {
        "ok": False,
        "error": "Appending to the out channel requires secret key authentication",
    }
    init = await api.request("PUT", f"/realtime/v1/sessions/{ext}/out", credential=token)
    assert init.status_code == 403
    assert (
        await api.request("PUT", f"/realtime/v1/sessions/{ext}/in", credential=token)
    ).status_code == 202


async def test_a_session_token_opens_no_other_session(api: ContractApi) -> None:
    mine, other = api.ext("mine"), api.ext("other")
    token = (await api.created_session(externalId=mine))["publicAccessToken"]
    await api.created_session(externalId=other)
    out_of_scope(api, await append(api, other, "in", "x", credential=token))
    out_of_scope(api, await records(api, other, "in", credential=token))
    out_of_scope(api, (await follow(api, other, "out", credential=token)).response)


async def test_read_only_tokens_cannot_append(api: ContractApi) -> None:
    ext = api.ext()
    await api.created_session(externalId=ext)
    token = await sign(api, [f"read:sessions:{ext}"])
    assert (await records(api, ext, "in", credential=token)).status_code == 200
    out_of_scope(api, await append(api, ext, "in", "x", credential=token))


async def test_a_channel_scoped_token_reads_only_its_channel(api: ContractApi) -> None:
    ext = api.ext()
    await api.created_session(externalId=ext)
    token = await sign(api, [f"read:sessions:{ext}:channels:screens:out"])
    assert (await records(api, ext, "out", channel="screens", credential=token)).status_code == 200
    out_of_scope(api, await records(api, ext, "in", channel="screens", credential=token))
    out_of_scope(api, await records(api, ext, "out", channel="logs", credential=token))
    out_of_scope(api, await records(api, ext, "out", credential=token))


async def test_initialize_hands_out_credentials_for_the_stream(api: ContractApi) -> None:
    ext = api.ext()
    await api.created_session(externalId=ext)
    response = await api.request("PUT", f"/realtime/v1/sessions/{quote(ext, safe='')}/out")
    assert response.status_code == 202
    assert response.json() == {"version": "v2"}
    for header in ("x-s2-access-token", "x-s2-basin", "x-s2-stream-name", "x-s2-endpoint"):
        assert response.headers[header]


async def test_initialize_names_the_stream_and_its_flush_interval(api: ContractApi) -> None:
    ext = api.ext("chat/é 1")
    await api.created_session(externalId=ext)
    response = await api.request("PUT", f"/realtime/v1/sessions/{quote(ext, safe='')}/out")
    assert response.status_code == 202
    name = response.headers["x-s2-stream-name"]
    api.observe(
        "s2_stream_names_raw",
        documented=name == f"/sessions/{quote(ext, safe='')}/out",
        deployed=name == f"/sessions/{ext}/out",
    )
    interval = response.headers["x-s2-flush-interval-ms"]
    api.observe("s2_flush_interval_ms", documented=interval == "200", deployed=interval == "100")


async def test_appends_to_unknown_sessions_check_the_token_first(api: ContractApi) -> None:
    ghost = api.ext("ghost")
    elsewhere = await sign(api, [f"write:sessions:{api.ext('another')}"])
    refused = await append(api, ghost, "in", "hi", credential=elsewhere)
    api.observe(
        "authorization_before_existence",
        documented=refused.status_code == 404,
        deployed=refused.status_code == 403 and refused.json() == SCOPE_ERROR,
    )
    matching = await sign(api, [f"write:sessions:{ghost}"])
    assert (await append(api, ghost, "in", "hi", credential=matching)).status_code == 404
    assert (await append(api, ghost, "in", "hi")).status_code == 404  # the secret key


async def test_initialize_refuses_closed_sessions(api: ContractApi) -> None:
    ext = api.ext()
    await api.created_session(externalId=ext)
    await api.close(ext)
    assert (await api.request("PUT", f"/realtime/v1/sessions/{ext}/out")).status_code == 400


@pytest.mark.mock_only
async def test_control_records_written_through_s2_reach_readers(api: ContractApi) -> None:
    ext = api.ext("chat/with slash")
    await api.created_session(externalId=ext)
    init = await api.request("PUT", f"/realtime/v1/sessions/{quote(ext, safe='')}/out")
    endpoint = init.headers["x-s2-endpoint"].removeprefix(str(api.client.base_url).rstrip("/"))
    stream = quote(init.headers["x-s2-stream-name"], safe="")
    url = f"{endpoint}/streams/{stream}/records"
    control = {"headers": [["trigger-control", "turn-complete"]], "body": ""}
    ack = await api.request(
        "POST", url, json={"records": [control]}, credential=init.headers["x-s2-access-token"]
    )
    assert ack.status_code == 200
    assert ack.json()["start"]["seq_num"] == 0 and ack.json()["end"]["seq_num"] == 1
    drained = (await records(api, ext, "out")).json()["records"]
    assert drained[0]["headers"] == [["trigger-control", "turn-complete"]]
    stranger = await api.request("POST", url, json={"records": [control]}, credential="s2_nope")
    assert stranger.status_code == 401


async def test_end_and_continue_hands_over_once(api: ContractApi) -> None:
    ext = api.ext()
    created = await api.created_session(externalId=ext)
    path = f"/api/v1/sessions/{ext}/end-and-continue"
    body = {"callingRunId": created["runId"], "reason": "upgrade"}
    first = await api.request("POST", path, json=body)
    assert first.status_code == 200
    assert first.json()["swapped"] is True and first.json()["runId"] != created["runId"]
    assert (await api.retrieve(ext)).json()["currentRunId"] == first.json()["runId"]
    late = await api.request("POST", path, json=body)
    assert late.json() == {"runId": first.json()["runId"], "swapped": False}


async def test_end_and_continue_refusals(api: ContractApi) -> None:
    ext = api.ext()
    created = await api.created_session(externalId=ext)
    path = f"/api/v1/sessions/{ext}/end-and-continue"
    stranger = {"callingRunId": "run_notarealrun000000000000", "reason": "upgrade"}
    assert (await api.request("POST", path, json=stranger)).status_code == 404
    await api.close(ext)
    closed = await api.request(
        "POST", path, json={"callingRunId": created["runId"], "reason": "upgrade"}
    )
    assert closed.status_code == 400
    unknown = "/api/v1/sessions/session_cm0000000000000000000000/end-and-continue"
    assert (await api.request("POST", unknown, json=stranger)).status_code == 404
