"""POST /api/v1/sessions/{session}/close: terminal, idempotent, and what it keeps."""

from __future__ import annotations

import pytest

from tests.support import Api

pytestmark = pytest.mark.anyio


async def test_close_records_closed_at_and_reason_and_keeps_the_run(api: Api) -> None:
    created = await api.created(externalId="c1")
    await api.set_clock(advanceSeconds=3)
    response = await api.close("c1", {"reason": "user signed out"})
    assert response.status_code == 200
    row = response.json()
    assert row["closedReason"] == "user signed out"
    assert row["closedAt"] is not None and row["closedAt"] == row["updatedAt"]
    assert row["closedAt"] > created["createdAt"]
    assert row["currentRunId"] == created["runId"]
    assert "triggerConfig" in row


async def test_closing_again_returns_the_first_close_unchanged(api: Api) -> None:
    await api.created(externalId="c2")
    first = (await api.close("c2", {"reason": "first"})).json()
    await api.set_clock(advanceSeconds=60)
    again = await api.close("c2", {"reason": "second"})
    assert again.status_code == 200
    assert again.json() == first


async def test_close_by_session_id_without_reason_stores_null(api: Api) -> None:
    created = await api.created()
    row = (await api.close(created["id"])).json()
    assert row["closedReason"] is None and row["closedAt"] is not None


async def test_expired_sessions_can_be_closed(api: Api) -> None:
    await api.created(externalId="exp", expiresAt="2099-01-01T00:00:00.000Z")
    await api.set_clock(set="2099-06-01T00:00:00.000Z", frozen=True)
    row = (await api.close("exp")).json()
    assert row["closedAt"] == "2099-06-01T00:00:00.000Z"
    assert row["expiresAt"] == "2099-01-01T00:00:00.000Z"


async def test_closing_an_unknown_session_is_404(api: Api) -> None:
    response = await api.close("ghost")
    assert response.status_code == 404
    assert response.json() == {"error": "Session not found"}


async def test_close_with_an_empty_body(api: Api) -> None:
    await api.created(externalId="c3")
    response = await api.close("c3", content=b"")
    if api.deployed:
        assert response.status_code == 400
        assert response.json() == {"error": "Request body is empty"}
        assert (await api.retrieve("c3")).json()["closedAt"] is None
    else:
        assert response.status_code == 200
        assert response.json()["closedAt"] is not None


async def test_close_reason_is_limited_to_256_characters(api: Api) -> None:
    await api.created(externalId="c4")
    response = await api.close("c4", {"reason": "x" * 257})
    assert response.status_code == (400 if api.deployed else 422)
    assert "String must contain at most 256 character(s)" in response.json()["error"]
    assert (await api.retrieve("c4")).json()["closedAt"] is None
    assert (await api.close("c4", {"reason": "x" * 256})).status_code == 200


async def test_close_body_over_one_kilobyte_is_refused(api: Api) -> None:
    await api.created(externalId="c5")
    response = await api.close("c5", {"reason": "x", "padding": "y" * 1100})
    assert response.status_code == (413 if api.deployed else 422)
    assert response.json()["error"] == "Request body too large"
    assert (await api.retrieve("c5")).json()["closedAt"] is None


async def test_a_closed_session_reads_as_closed_everywhere(api: Api) -> None:
    created = await api.created(externalId="c6")
    await api.close("c6")
    assert (await api.retrieve(created["id"])).json()["closedAt"] is not None
    closed = (await api.list({"filter[status]": "CLOSED"})).json()["data"]
    assert [row["id"] for row in closed] == [created["id"]]
    assert (await api.list({"filter[status]": "ACTIVE"})).json()["data"] == []
