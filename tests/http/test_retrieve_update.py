"""GET and PATCH /api/v1/sessions/{session}: addressing, not found, update rules."""

from __future__ import annotations

import pytest

from tests.support import Api

pytestmark = pytest.mark.anyio


async def test_retrieve_by_session_id_and_by_external_id(api: Api) -> None:
    created = await api.created(externalId="chat-42", triggerConfig={"basePayload": {"a": 1}})
    by_id, by_external = await api.retrieve(created["id"]), await api.retrieve("chat-42")
    assert by_id.status_code == by_external.status_code == 200
    assert by_id.json() == by_external.json()
    row = by_id.json()
    assert row["triggerConfig"] == {"basePayload": {"a": 1}}
    assert row["currentRunId"] == created["runId"]
    assert "runId" not in row and "publicAccessToken" not in row and "isCached" not in row


@pytest.mark.parametrize("external_id", ["org/team/chat 1", "chat:1?x=y#z", "über-chat-ü", "a%2Fb"])
async def test_percent_encoded_external_ids_address_their_session(
    api: Api, external_id: str
) -> None:
    created = await api.created(externalId=external_id)
    response = await api.retrieve(external_id)
    assert response.status_code == 200
    assert response.json()["id"] == created["id"]
    assert response.json()["externalId"] == external_id
    assert (await api.update(external_id, {"tags": ["t"]})).status_code == 200
    assert (await api.close(external_id)).json()["closedAt"] is not None


async def test_retrieving_an_unknown_session_is_404(api: Api) -> None:
    for ref in ("nobody", "session_cm0000000000000000000000a"):
        response = await api.retrieve(ref)
        assert response.status_code == 404
        if api.deployed:
            assert response.json() == {"error": "Not found"}
            assert response.headers["x-should-retry"] == "false"
        else:
            assert response.json() == {"error": "Session not found"}
            assert "x-should-retry" not in response.headers


async def test_a_session_id_is_not_an_external_id(api: Api) -> None:
    created = await api.created()
    internal = created["id"].removeprefix("session_")
    assert (await api.retrieve(internal)).status_code == 404


async def test_update_replaces_tags_and_metadata_and_bumps_updated_at(api: Api) -> None:
    created = await api.created(externalId="u1", tags=["a", "b"], metadata={"x": 1})
    await api.set_clock(advanceSeconds=5)
    response = await api.update("u1", {"tags": ["c"], "metadata": {"y": 2}})
    assert response.status_code == 200
    row = response.json()
    assert row["tags"] == ["c"] and row["metadata"] == {"y": 2}
    assert row["createdAt"] == created["createdAt"]
    assert row["updatedAt"] > created["updatedAt"]
    assert (await api.retrieve("u1")).json() == row


async def test_metadata_null_clears_it_and_omitted_fields_stay(api: Api) -> None:
    await api.created(externalId="u2", tags=["keep"], metadata={"x": 1})
    row = (await api.update("u2", {"metadata": None})).json()
    assert row["metadata"] is None and row["tags"] == ["keep"]


async def test_an_empty_update_changes_nothing(api: Api) -> None:
    created = await api.created(externalId="u3")
    await api.set_clock(advanceSeconds=5)
    row = (await api.update("u3", {})).json()
    assert row["updatedAt"] == created["updatedAt"]


async def test_external_id_is_read_only(api: Api) -> None:
    message = (
        "externalId cannot be changed after creation; "
        "close this session and create a new one with the desired externalId"
    )
    with_id = await api.created(externalId="fixed")
    without = await api.created()
    for ref, change in (("fixed", "other"), ("fixed", None), (without["id"], "late")):
        response = await api.update(ref, {"externalId": change})
        assert response.status_code == 422
        assert response.json() == {"error": message}
    assert (await api.retrieve(with_id["id"])).json()["externalId"] == "fixed"
    assert (await api.update("fixed", {"externalId": "fixed"})).status_code == 200
    assert (await api.update("fixed", {"externalId": " fixed "})).status_code == 200
    assert (await api.update(without["id"], {"externalId": None})).status_code == 200


async def test_update_works_on_closed_and_expired_sessions(api: Api) -> None:
    await api.created(externalId="shut")
    await api.close("shut")
    assert (await api.update("shut", {"tags": ["after"]})).json()["tags"] == ["after"]
    await api.created(externalId="old", expiresAt="2099-01-01T00:00:00Z")
    await api.set_clock(set="2100-01-01T00:00:00Z")
    assert (await api.update("old", {"metadata": {"k": 1}})).json()["metadata"] == {"k": 1}


async def test_updating_an_unknown_session_is_404(api: Api) -> None:
    response = await api.update("missing", {"tags": []})
    assert response.status_code == 404
    assert response.json() == {"error": "Session not found"}
    assert "x-should-retry" not in response.headers


async def test_update_body_is_validated(api: Api) -> None:
    await api.created(externalId="v")
    for body in ({"tags": [str(i) for i in range(11)]}, {"metadata": [1]}, {"tags": "x"}):
        response = await api.update("v", body)
        assert response.status_code == (400 if api.deployed else 422), body
    assert (await api.retrieve("v")).json()["tags"] == []
