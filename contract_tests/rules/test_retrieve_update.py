"""GET and PATCH /api/v1/sessions/{session}: addressing, not found, update rules."""

from __future__ import annotations

import pytest

from ..harness.client import ContractApi
from ..harness.expect import invalid

pytestmark = pytest.mark.anyio

IMMUTABLE = (
    "externalId cannot be changed after creation; "
    "close this session and create a new one with the desired externalId"
)


@pytest.mark.writes
async def test_retrieve_by_session_id_and_by_external_id(api: ContractApi) -> None:
    external_id = api.ext()
    created = await api.created_session(
        externalId=external_id, triggerConfig={"basePayload": {"a": 1}}
    )
    by_id, by_external = await api.retrieve(created["id"]), await api.retrieve(external_id)
    assert by_id.status_code == by_external.status_code == 200
    assert by_id.json() == by_external.json()
    row = by_id.json()
    assert row["triggerConfig"] == {"basePayload": {"a": 1}, "tags": [api.naming.run_tag]}
    assert row["currentRunId"] == created["runId"]
    assert "runId" not in row and "publicAccessToken" not in row and "isCached" not in row


@pytest.mark.writes
@pytest.mark.parametrize("label", ["org/team/chat 1", "chat:1?x=y#z", "über-chat-ü", "a%2Fb"])
async def test_percent_encoded_external_ids_address_their_session(
    api: ContractApi, label: str
) -> None:
    external_id = api.ext(label)
    created = await api.created_session(externalId=external_id)
    response = await api.retrieve(external_id)
    assert response.status_code == 200
    assert response.json()["id"] == created["id"]
    assert response.json()["externalId"] == external_id
    assert (await api.update(external_id, {"tags": ["t"]})).status_code == 200
    assert (await api.close(external_id)).json()["closedAt"] is not None


async def test_retrieving_an_unknown_session_is_404(api: ContractApi) -> None:
    for ref in (api.ext("nobody"), "session_cm0000000000000000000000a"):
        response = await api.retrieve(ref)
        assert response.status_code == 404
        api.observe(
            "retrieve_not_found_deployed_style",
            documented=response.json() == {"error": "Session not found"}
            and "x-should-retry" not in response.headers,
            deployed=response.json() == {"error": "Not found"}
            and response.headers.get("x-should-retry") == "false",
        )


@pytest.mark.writes
async def test_a_session_id_without_its_prefix_is_not_found(api: ContractApi) -> None:
    created = await api.created_session()
    assert (await api.retrieve(created["id"].removeprefix("session_"))).status_code == 404


@pytest.mark.writes
async def test_update_replaces_tags_and_metadata(api: ContractApi) -> None:
    external_id = api.ext()
    created = await api.created_session(externalId=external_id, tags=["a", "b"], metadata={"x": 1})
    response = await api.update(external_id, {"tags": ["c"], "metadata": {"y": 2}})
    assert response.status_code == 200
    row = response.json()
    assert row["tags"] == ["c"] and row["metadata"] == {"y": 2}
    assert row["createdAt"] == created["createdAt"]
    assert row["updatedAt"] >= created["updatedAt"]
    assert (await api.retrieve(external_id)).json() == row


@pytest.mark.mock_only
async def test_an_update_bumps_updated_at(api: ContractApi) -> None:
    external_id = api.ext()
    created = await api.created_session(externalId=external_id)
    await api.set_clock(advanceSeconds=5)
    row = (await api.update(external_id, {"tags": ["x"]})).json()
    assert row["updatedAt"] > created["updatedAt"] and row["createdAt"] == created["createdAt"]


@pytest.mark.writes
async def test_metadata_null_clears_it_and_omitted_fields_stay(api: ContractApi) -> None:
    external_id = api.ext()
    await api.created_session(externalId=external_id, tags=["keep"], metadata={"x": 1})
    row = (await api.update(external_id, {"metadata": None})).json()
    assert row["metadata"] is None and row["tags"] == ["keep"]


@pytest.mark.mock_only
async def test_an_empty_update_changes_nothing(api: ContractApi) -> None:
    external_id = api.ext()
    created = await api.created_session(externalId=external_id)
    await api.set_clock(advanceSeconds=5)
    row = (await api.update(external_id, {})).json()
    assert row["updatedAt"] == created["updatedAt"]


@pytest.mark.writes
async def test_external_id_is_read_only_after_create(api: ContractApi) -> None:
    fixed = api.ext("fixed")
    with_id = await api.created_session(externalId=fixed)
    without = await api.created_session()
    for ref, change in ((fixed, api.ext("other")), (fixed, None), (without["id"], api.ext("late"))):
        response = await api.update(ref, {"externalId": change})
        assert response.status_code == 422
        assert response.json() == {"error": IMMUTABLE}
    assert (await api.retrieve(with_id["id"])).json()["externalId"] == fixed
    assert (await api.update(fixed, {"externalId": fixed})).status_code == 200
    assert (await api.update(fixed, {"externalId": f" {fixed} "})).status_code == 200
    assert (await api.update(without["id"], {"externalId": None})).status_code == 200


@pytest.mark.writes
async def test_closed_sessions_can_be_updated(api: ContractApi) -> None:
    external_id = api.ext()
    await api.created_session(externalId=external_id)
    await api.close(external_id)
    assert (await api.update(external_id, {"tags": ["after"]})).json()["tags"] == ["after"]


@pytest.mark.mock_only
async def test_expired_sessions_can_be_updated(api: ContractApi) -> None:
    external_id = api.ext()
    await api.created_session(externalId=external_id, expiresAt="2099-01-01T00:00:00Z")
    await api.set_clock(set="2100-01-01T00:00:00Z")
    assert (await api.update(external_id, {"metadata": {"k": 1}})).json()["metadata"] == {"k": 1}


async def test_updating_an_unknown_session_is_404(api: ContractApi) -> None:
    response = await api.update(api.ext("missing"), {"tags": []})
    assert response.status_code == 404
    assert response.json() == {"error": "Session not found"}
    assert "x-should-retry" not in response.headers


@pytest.mark.writes
async def test_the_update_body_is_validated(api: ContractApi) -> None:
    external_id = api.ext()
    await api.created_session(externalId=external_id)
    for body in ({"tags": [str(i) for i in range(11)]}, {"metadata": [1]}, {"tags": "x"}):
        invalid(api, await api.update(external_id, body))
    assert (await api.retrieve(external_id)).json()["tags"] == []
