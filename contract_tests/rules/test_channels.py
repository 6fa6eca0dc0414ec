"""Session channels: appends, part-id dedupe, drains, and the SSE stream (wire format v2)."""

from __future__ import annotations

import anyio
import pytest

from ..harness.channels import append, body_of, follow, records
from ..harness.client import ContractApi

pytestmark = [pytest.mark.anyio, pytest.mark.writes]


async def test_appends_are_numbered_from_zero_and_drained_unwrapped(api: ContractApi) -> None:
    ext = api.ext()
    await api.created_session(externalId=ext)
    first = await append(api, ext, "in", '{"type":"user-message","text":"hi"}', part_id="p-1")
    second = await append(api, ext, "in", "plain text is fine too", part_id="p-2")
    assert (first.status_code, first.json()) == (200, {"ok": True, "seq": 0})
    assert second.json() == {"ok": True, "seq": 1}
    drained = (await records(api, ext, "in")).json()["records"]
    assert [(r["data"], r["id"], r["seqNum"]) for r in drained] == [
        ('{"type":"user-message","text":"hi"}', "p-1", 0),
        ("plain text is fine too", "p-2", 1),
    ]
    after = (await records(api, ext, "in", after=0)).json()["records"]
    assert [r["seqNum"] for r in after] == [1]


async def test_in_appends_claiming_a_webhook_source_lose_it(api: ContractApi) -> None:
    ext = api.ext()
    await api.created_session(externalId=ext)
    forged = '{"kind": "action", "payload": {"actionSource": "webhook", "n": 1.0, "t": "é"}}'
    kept = '{"kind": "action", "payload": {"actionSource": "button"}}'
    for n, part in enumerate((forged, kept, "not json", '"actionSource"')):
        assert (await append(api, ext, "in", part, part_id=f"p-{n}")).status_code == 200
    await append(api, ext, "out", forged, part_id="p-out")
    stored = [r["data"] for r in (await records(api, ext, "in")).json()["records"]]
    assert stored == [
        '{"kind":"action","payload":{"n":1,"t":"é"}}',
        kept,
        "not json",
        '"actionSource"',
    ]
    out = [r["data"] for r in (await records(api, ext, "out")).json()["records"]]
    assert out == [forged]  # only .in is sanitised


async def test_a_repeated_part_id_appends_nothing(api: ContractApi) -> None:
    ext = api.ext()
    await api.created_session(externalId=ext)
    assert (await append(api, ext, "in", "once", part_id="same")).json()["seq"] == 0
    again = await append(api, ext, "in", "twice", part_id="same")
    assert again.status_code == 200
    assert again.json() == {"ok": True}
    assert [r["data"] for r in (await records(api, ext, "in")).json()["records"]] == ["once"]
    other_channel = await append(api, ext, "out", "elsewhere", part_id="same")
    assert other_channel.json() == {"ok": True, "seq": 0}


async def test_without_a_part_id_every_append_counts(api: ContractApi) -> None:
    ext = api.ext()
    await api.created_session(externalId=ext)
    for _ in range(2):
        assert (await append(api, ext, "in", "same text")).status_code == 200
    drained = (await records(api, ext, "in")).json()["records"]
    assert len(drained) == 2
    assert drained[0]["id"] != drained[1]["id"] and all(r["id"] for r in drained)


async def test_both_url_forms_meet_on_one_channel(api: ContractApi) -> None:
    ext = api.ext()
    created = await api.created_session(externalId=ext)
    await append(api, created["id"], "in", "by id")
    await append(api, ext, "in", "by externalId")
    for ref in (ext, created["id"]):
        drained = (await records(api, ref, "in")).json()["records"]
        assert [r["data"] for r in drained] == ["by id", "by externalId"]


async def test_a_record_over_one_mebibyte_is_refused(api: ContractApi) -> None:
    ext = api.ext()
    await api.created_session(externalId=ext)
    near = await append(api, ext, "in", "x" * (1024 * 1024 - 100), part_id="big")
    assert near.status_code == 200, near.text
    over = await append(api, ext, "in", '"' * (600 * 1024), part_id="quotes")
    assert over.status_code == 413
    assert over.json()["ok"] is False
    assert len((await records(api, ext, "in")).json()["records"]) == 1


async def test_appending_to_a_closed_session_is_final(api: ContractApi) -> None:
    ext = api.ext()
    await api.created_session(externalId=ext)
    await api.close(ext, {"reason": "done"})
    refused = await append(api, ext, "in", "late")
    assert refused.status_code == 409
    assert refused.json() == {
        "ok": False,
        "error": "Cannot append to a closed session",
        "code": "session_closed",
        "closedReason": "done",
    }


@pytest.mark.mock_only
async def test_appending_to_an_expired_session_is_refused(api: ContractApi) -> None:
    ext = api.ext()
    await api.created_session(externalId=ext, expiresAt="2099-01-01T00:00:00.000Z")
    await api.set_clock(set="2099-06-01T00:00:00.000Z", frozen=True)
    refused = await append(api, ext, "out", "late")
    assert refused.status_code == 400
    assert refused.json()["code"] == "session_expired"


@pytest.mark.mock_only
async def test_a_part_id_is_remembered_for_five_minutes(api: ContractApi) -> None:
    ext = api.ext()
    await api.created_session(externalId=ext)
    await append(api, ext, "in", "first", part_id="p")
    await api.set_clock(advanceSeconds=299)
    assert "seq" not in (await append(api, ext, "in", "retry", part_id="p")).json()
    await api.set_clock(advanceSeconds=2)
    assert (await append(api, ext, "in", "new", part_id="p")).json()["seq"] == 1


@pytest.mark.mock_only
async def test_close_tells_the_in_channel(api: ContractApi) -> None:
    ext = api.ext()
    await api.created_session(externalId=ext)
    await api.close(ext, {"reason": "user left"})
    await api.close(ext, {"reason": "again"})
    drained = (await records(api, ext, "in")).json()["records"]
    assert drained == [
        {
            "data": "",
            "id": "",
            "seqNum": 0,
            "headers": [
                ["trigger-control", "session-closed"],
                ["session-closed-reason", "user left"],
            ],
        }
    ]


async def test_unknown_sessions_on_channel_routes(api: ContractApi) -> None:
    missing_id = "session_cm0000000000000000000000"
    assert (await records(api, missing_id, "out")).status_code == 404
    assert (await follow(api, missing_id, "out")).response.status_code == 404
    unknown_ext = api.ext("never-created")
    assert (await append(api, unknown_ext, "in", "x")).status_code == 404
    drained = await records(api, unknown_ext, "out")
    assert (drained.status_code, drained.json()) == (200, {"records": []})
    assert (await follow(api, unknown_ext, "out")).response.status_code == 200


async def test_the_stream_speaks_wire_format_v2(api: ContractApi) -> None:
    ext = api.ext()
    await api.created_session(externalId=ext)
    for n in range(3):
        await append(api, ext, "out", f'{{"n":{n}}}', part_id=f"part-{n}")
    followed = await follow(api, ext, "out")
    assert followed.response.headers["x-stream-version"] == "v2"
    assert followed.response.headers["content-type"].startswith("text/event-stream")
    assert followed.seq_nums == [0, 1, 2]
    first = followed.records[0]
    assert set(first) >= {"seq_num", "timestamp", "body"}
    assert body_of(first) == {"data": '{"n":0}', "id": "part-0"}


async def test_last_event_id_resumes_after_that_record(api: ContractApi) -> None:
    ext = api.ext()
    await api.created_session(externalId=ext)
    for n in range(4):
        await append(api, ext, "out", str(n))
    resumed = await follow(api, ext, "out", headers={"Last-Event-ID": "1"})
    assert resumed.seq_nums == [2, 3]


@pytest.mark.mock_only
async def test_stream_start_latest_skips_the_backlog(api: ContractApi) -> None:
    ext = api.ext()
    await api.created_session(externalId=ext)
    await append(api, ext, "out", "old")
    latest = await follow(api, ext, "out", headers={"X-Trigger-Stream-Start": "latest"})
    assert latest.seq_nums == []


async def test_a_reader_receives_what_is_appended_while_it_waits(api: ContractApi) -> None:
    ext = api.ext()
    await api.created_session(externalId=ext)
    result: dict[str, list[int]] = {}

    async def read() -> None:
        result["seen"] = (await follow(api, ext, "out", timeout_seconds=2)).seq_nums

    async with anyio.create_task_group() as group:
        group.start_soon(read)
        await anyio.sleep(0.3)
        await append(api, ext, "out", "live")
    assert result["seen"] == [0]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "Invalid timeout seconds"),
        ("1.5", "Invalid timeout seconds"),
        ("0", "Timeout seconds must be greater than 0"),
        ("601", "Timeout seconds must be less than 600"),
    ],
)
async def test_timeout_seconds_is_a_whole_number_up_to_600(
    api: ContractApi, value: str, message: str
) -> None:
    ext = api.ext()
    response = await api.request(
        "GET", f"/realtime/v1/sessions/{ext}/out", headers={"Timeout-Seconds": value}
    )
    assert response.status_code == 400
    assert message in response.text


async def test_head_answers_like_the_stream_would(api: ContractApi) -> None:
    ext = api.ext()
    ok = await api.request("HEAD", f"/realtime/v1/sessions/{ext}/in")
    assert ok.status_code == 200
    assert ok.headers["x-last-chunk-index"] == "0"
    missing = await api.request("HEAD", "/realtime/v1/sessions/session_cm0000000000000000000000/in")
    assert missing.status_code == 404


async def test_side_channels_are_separate_streams(api: ContractApi) -> None:
    ext = api.ext()
    await api.created_session(externalId=ext)
    await append(api, ext, "out", "frame-1", channel="screens")
    await append(api, ext, "out", "transcript")
    named = (await records(api, ext, "out", channel="screens")).json()["records"]
    own = (await records(api, ext, "out")).json()["records"]
    assert [r["data"] for r in named] == ["frame-1"]
    assert [r["data"] for r in own] == ["transcript"]
    bad = await records(api, ext, "out", channel="no spaces")
    assert bad.status_code == 400
