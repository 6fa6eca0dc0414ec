"""POST /api/v1/sessions/{session}/close: terminal, idempotent, and what it keeps."""

from __future__ import annotations

import pytest

from ..harness.client import ContractApi
from ..harness.expect import invalid, too_large

pytestmark = pytest.mark.anyio


@pytest.mark.writes
async def test_close_records_closed_at_and_reason_and_keeps_the_run(api: ContractApi) -> None:
    external_id = api.ext()
    created = await api.created_session(externalId=external_id)
    response = await api.close(external_id, {"reason": "user signed out"})
    assert response.status_code == 200
    row = response.json()
    assert row["closedReason"] == "user signed out"
    assert row["closedAt"] is not None and row["closedAt"] >= created["createdAt"]
    assert row["currentRunId"] == created["runId"]
    assert "triggerConfig" in row


@pytest.mark.mock_only
async def test_closing_again_returns_the_first_close_unchanged(api: ContractApi) -> None:
    external_id = api.ext()
    await api.created_session(externalId=external_id)
    first = (await api.close(external_id, {"reason": "first"})).json()
    await api.set_clock(advanceSeconds=60)
    again = await api.close(external_id, {"reason": "second"})
    assert again.status_code == 200
    assert again.json() == first


@pytest.mark.writes
async def test_closing_twice_keeps_the_first_reason(api: ContractApi) -> None:
    external_id = api.ext()
    await api.created_session(externalId=external_id)
    first = (await api.close(external_id, {"reason": "first"})).json()
    again = (await api.close(external_id, {"reason": "second"})).json()
    assert again == first


@pytest.mark.writes
async def test_close_by_session_id_without_reason_stores_null(api: ContractApi) -> None:
    created = await api.created_session()
    row = (await api.close(created["id"])).json()
    assert row["closedReason"] is None and row["closedAt"] is not None


@pytest.mark.mock_only
async def test_expired_sessions_can_be_closed(api: ContractApi) -> None:
    external_id = api.ext()
    await api.created_session(externalId=external_id, expiresAt="2099-01-01T00:00:00.000Z")
    await api.set_clock(set="2099-06-01T00:00:00.000Z", frozen=True)
    row = (await api.close(external_id)).json()
    assert row["closedAt"] == "2099-06-01T00:00:00.000Z"
    assert row["expiresAt"] == "2099-01-01T00:00:00.000Z"


async def test_closing_an_unknown_session_is_404(api: ContractApi) -> None:
    response = await api.close(api.ext("ghost"))
    assert response.status_code == 404
    assert response.json() == {"error": "Session not found"}


@pytest.mark.writes
async def test_close_with_an_empty_body(api: ContractApi) -> None:
    external_id = api.ext()
    await api.created_session(externalId=external_id)
    response = await api.close(external_id, content=b"")
    stored = (await api.retrieve(external_id)).json()
    api.observe(
        "empty_close_body_rejected",
        documented=response.status_code == 200 and stored["closedAt"] is not None,
        deployed=response.status_code == 400
        and response.json() == {"error": "Request body is empty"}
        and stored["closedAt"] is None,
    )


@pytest.mark.writes
async def test_the_close_reason_is_limited_to_256_characters(api: ContractApi) -> None:
    external_id = api.ext()
    await api.created_session(externalId=external_id)
    invalid(
        api,
        await api.close(external_id, {"reason": "x" * 257}),
        "String must contain at most 256 character(s)",
    )
    assert (await api.retrieve(external_id)).json()["closedAt"] is None
    assert (await api.close(external_id, {"reason": "x" * 256})).status_code == 200


@pytest.mark.writes
async def test_a_close_body_over_one_kilobyte_is_refused(api: ContractApi) -> None:
    external_id = api.ext()
    await api.created_session(externalId=external_id)
    too_large(api, await api.close(external_id, {"reason": "x", "padding": "y" * 1100}))
    assert (await api.retrieve(external_id)).json()["closedAt"] is None


@pytest.mark.writes
async def test_a_closed_session_reads_as_closed_everywhere(api: ContractApi) -> None:
    open_one = await api.created_session()
    external_id = api.ext()
    created = await api.created_session(externalId=external_id)
    await api.close(external_id)
    assert (await api.retrieve(created["id"])).json()["closedAt"] is not None
    closed = (await api.list({"filter[status]": "CLOSED"})).json()["data"]
    assert [row["id"] for row in closed] == [created["id"]]
    active = (await api.list({"filter[status]": "ACTIVE"})).json()["data"]
    assert [row["id"] for row in active] == [open_one["id"]]
