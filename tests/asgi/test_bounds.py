"""The fake's bounds over HTTP: the caps on sessions and environments answer in the API's
error shape, marked as the fake's own, and change nothing; the control plane reads and
changes the bounds; health reports what is kept and what was turned away; a full reset
brings the start-up bounds back."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from mock_server.app import create_app
from mock_server.control.persistence import StateSaver, load, save
from mock_server.core.limits import LIMIT_HEADER, Limits
from mock_server.core.settings import Settings
from tests.support import asgi_client, session_body

pytestmark = pytest.mark.anyio
KEY = "tr_dev_bounds0000000001"


async def test_a_create_beyond_max_sessions_is_a_507_that_changes_nothing() -> None:
    mock = create_app(Settings(limits=Limits(max_sessions=2)))
    async with asgi_client(mock, KEY) as client:
        for n in range(2):
            made = await client.post("/api/v1/sessions", json=session_body(externalId=f"s{n}"))
            assert made.status_code == 201
        refused = await client.post("/api/v1/sessions", json=session_body(externalId="s2"))
        assert refused.status_code == 507
        assert refused.headers[LIMIT_HEADER] == "sessions"
        assert refused.headers["content-type"].startswith("application/json")
        assert "--max-sessions" in refused.json()["error"] and set(refused.json()) == {"error"}
        # Nothing was stored, and what exists still answers, a cached create included.
        assert (await client.get("/api/v1/sessions/s2")).status_code == 404
        cached = await client.post("/api/v1/sessions", json=session_body(externalId="s1"))
        assert (cached.status_code, cached.json()["isCached"]) == (200, True)
        assert mock.state.store.count() == 2
        health = (await client.get("/_mock/health")).json()
        assert health["bounds"]["refusedSessions"] == 1 and health["sessions"] == 2
        # Raised at run time, the next create passes.
        raised = await client.patch("/_mock/limits", json={"maxSessions": 3})
        assert raised.json()["maxSessions"] == 3
        again = await client.post("/api/v1/sessions", json=session_body(externalId="s2"))
        assert again.status_code == 201


async def test_new_keys_beyond_max_environments_are_refused_and_a_reset_frees_them() -> None:
    mock = create_app(Settings(limits=Limits(max_environments=2)))
    transport = httpx.ASGITransport(mock)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:

        async def list_with(key: str) -> httpx.Response:
            return await client.get("/api/v1/sessions", headers={"Authorization": f"Bearer {key}"})

        assert (await list_with("tr_dev_first")).status_code == 200
        assert (await list_with("tr_dev_second")).status_code == 200
        third = await list_with("tr_dev_third")
        assert third.status_code == 507 and third.headers[LIMIT_HEADER] == "environments"
        assert "--max-environments" in third.json()["error"]
        assert (await list_with("tr_dev_first")).status_code == 200  # known keys still pass
        health = (await client.get("/_mock/health")).json()["bounds"]
        assert (health["refusedEnvironments"], health["environmentsMadeByUse"]) == (1, 2)
        await client.post("/_mock/reset")
        assert (await list_with("tr_dev_third")).status_code == 200
        after = (await client.get("/_mock/health")).json()["bounds"]
        assert (after["refusedEnvironments"], after["environmentsMadeByUse"]) == (0, 1)


async def test_keys_given_at_start_are_not_counted_against_max_environments() -> None:
    keys = ("tr_dev_configured0000001",)
    mock = create_app(Settings(secret_keys=keys, limits=Limits(max_environments=1)))
    async with asgi_client(mock, keys[0]) as client:
        assert (await client.get("/api/v1/sessions")).status_code == 200
        assert (await client.get("/_mock/health")).json()["bounds"]["environmentsMadeByUse"] == 0


async def test_the_control_plane_reads_changes_and_resets_the_bounds() -> None:
    mock = create_app(Settings(limits=Limits(max_record_bytes=10**6)))
    async with asgi_client(mock, KEY) as client:
        start = (await client.get("/_mock/limits")).json()
        assert start["maxRecordBytes"] == 10**6 and start["headerTimeout"] == 10.0
        changed = await client.patch(
            "/_mock/limits", json={"maxSseReaders": 5, "headerTimeout": 2.5}
        )
        assert changed.status_code == 200
        assert (changed.json()["maxSseReaders"], mock.state.limits.header_timeout) == (5, 2.5)
        for bad in (
            {},
            {"maxSessions": 0},
            {"maxSessions": 1.5},
            {"nope": 1},
            {"maxSessions": "9"},
        ):
            refused = await client.patch("/_mock/limits", json=bad)
            assert refused.status_code in (400, 422) and "error" in refused.json(), bad
        assert mock.state.limits.max_sse_readers == 5  # a refused change changed nothing
        await client.post("/_mock/reset")
        assert (await client.get("/_mock/limits")).json() == start


async def test_health_reports_the_records_kept_and_dropped() -> None:
    mock = create_app(Settings(limits=Limits(max_record_bytes=8_000)))
    async with asgi_client(mock, KEY) as client:
        assert (await client.post("/api/v1/sessions", json=session_body(externalId="h"))).is_success
        for _ in range(20):
            sent = await client.post("/realtime/v1/sessions/h/in/append", content=b"z" * 900)
            assert sent.status_code == 200
        records = (await client.get("/_mock/health")).json()["records"]
        assert records["maxBytes"] == 8_000 and 0 < records["bytes"] <= 8_000 + 2_000
        assert records["dropped"] > 0 and records["trimmingSince"].endswith("Z")
        assert records["count"] + records["dropped"] == 20 + 0  # the close record is not here
        # Room for the stream itself but for none of its records.
        lowered = await client.patch("/_mock/limits", json={"maxRecordBytes": 1500})
        assert lowered.status_code == 200
        records = (await client.get("/_mock/health")).json()["records"]
        assert (records["count"], records["dropped"]) == (0, 20)
        assert 0 < records["bytes"] <= 1500  # the stream, with its tail
        # The numbering carries on past the dropped records.
        next_one = await client.post("/realtime/v1/sessions/h/in/append", content=b"again")
        assert next_one.json()["seq"] == 20


async def test_the_state_file_holds_what_the_budget_keeps(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    budget = 200_000
    mock = create_app(Settings(limits=Limits(max_record_bytes=budget)))
    state = mock.state
    saver = StateSaver(path, state.store, state.channels, state.environments)
    async with asgi_client(mock, KEY) as client:
        assert (await client.post("/api/v1/sessions", json=session_body(externalId="f"))).is_success
        for _ in range(100):  # 1 MB sent, with characters JSON must escape
            sent = await client.post("/realtime/v1/sessions/f/in/append", content=b'"\\' * 5_000)
            assert sent.status_code == 200
    assert await saver.save_changed()
    assert path.stat().st_size <= budget + 10_000  # the sessions, the keys, the framing
    document = load(path)
    (stream,) = next(iter(document["environments"].values()))["streams"]
    assert stream["tail"] == 100 and stream["records"][-1]["seq_num"] == 99
    restarted = create_app(Settings(state_file=str(path), limits=Limits(max_record_bytes=budget)))
    assert restarted.state.channels.meter.records == len(stream["records"])


async def test_keys_of_a_seed_or_a_state_file_are_not_counted(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        "environments:\n"
        "  tr_dev_seeded000000000001:\n"
        "    sessions:\n"
        "      - {type: chat.agent, taskIdentifier: t, triggerConfig: {basePayload: {}}}\n"
    )
    mock = create_app(Settings(seed_file=str(seed), limits=Limits(max_environments=1)))
    async with asgi_client(mock, "tr_dev_seeded000000000001") as client:
        assert len((await client.get("/api/v1/sessions")).json()["data"]) == 1
        health = (await client.get("/_mock/health")).json()["bounds"]
        assert health["environmentsMadeByUse"] == 0
        other = await client.get("/api/v1/sessions", headers={"Authorization": f"Bearer {KEY}"})
        assert other.status_code == 200  # the one environment a new key may make
        await client.post("/_mock/reset")
        assert len((await client.get("/api/v1/sessions")).json()["data"]) == 1  # seeded again


async def test_keys_a_state_file_brings_back_still_count(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    first = create_app(Settings(limits=Limits(max_environments=2)))
    transport = httpx.ASGITransport(first)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
        for key in ("tr_dev_used1", "tr_dev_used2"):
            listed = await client.get(
                "/api/v1/sessions", headers={"Authorization": f"Bearer {key}"}
            )
            assert listed.status_code == 200
    state = first.state
    save(path, state.store, state.channels, state.environments)
    again = create_app(Settings(state_file=str(path), limits=Limits(max_environments=2)))
    assert again.state.environments.made_by_use == 2
    async with asgi_client(again, "tr_dev_used3") as client:
        assert (await client.get("/api/v1/sessions")).status_code == 507
