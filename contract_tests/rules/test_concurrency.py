"""Concurrent requests: one session per externalId, one closedAt per session."""

from __future__ import annotations

import asyncio

import pytest

from ..harness.client import ContractApi

pytestmark = [pytest.mark.anyio, pytest.mark.writes]


async def test_parallel_creates_of_one_external_id_make_one_session(api: ContractApi) -> None:
    external_id = api.ext()
    responses = await asyncio.gather(*(api.create(externalId=external_id) for _ in range(20)))
    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len({r.json()["runId"] for r in responses}) == 1
    assert len((await api.list()).json()["data"]) == 1


async def test_parallel_closes_record_one_closed_at(api: ContractApi) -> None:
    external_id = api.ext()
    await api.created_session(externalId=external_id)
    responses = await asyncio.gather(
        *(api.close(external_id, {"reason": f"closer {i}"}) for i in range(20))
    )
    assert {r.status_code for r in responses} == {200}
    assert len({(r.json()["closedAt"], r.json()["closedReason"]) for r in responses}) == 1


async def test_parallel_creates_without_external_ids_are_all_kept(api: ContractApi) -> None:
    responses = await asyncio.gather(*(api.create() for _ in range(20)))
    assert {r.status_code for r in responses} == {201}
    listed = (await api.list({"page[size]": "100"})).json()["data"]
    assert sorted(row["id"] for row in listed) == sorted(r.json()["id"] for r in responses)
