"""Concurrent requests: one session per externalId, one closedAt per session."""

from __future__ import annotations

import asyncio

import pytest

from tests.support import Api

pytestmark = pytest.mark.anyio


async def test_parallel_creates_of_one_external_id_make_one_session(api: Api) -> None:
    responses = await asyncio.gather(*(api.create(externalId="race") for _ in range(25)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 24 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len({r.json()["runId"] for r in responses}) == 1
    assert len((await api.list()).json()["data"]) == 1


async def test_parallel_closes_record_one_closed_at(api: Api) -> None:
    await api.created(externalId="shut")
    responses = await asyncio.gather(
        *(api.close("shut", {"reason": f"closer {i}"}) for i in range(25))
    )
    assert {r.status_code for r in responses} == {200}
    assert len({(r.json()["closedAt"], r.json()["closedReason"]) for r in responses}) == 1


async def test_parallel_creates_without_external_ids_are_all_kept(api: Api) -> None:
    responses = await asyncio.gather(*(api.create() for _ in range(30)))
    assert {r.status_code for r in responses} == {201}
    listed = (await api.list({"page[size]": "100"})).json()["data"]
    assert sorted(row["id"] for row in listed) == sorted(r.json()["id"] for r in responses)
