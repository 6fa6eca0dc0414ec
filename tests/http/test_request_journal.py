"""GET /_mock/requests: what the fake answered, for tests to verify what was sent."""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests.harness.channels import append
from contract_tests.harness.client import ContractApi

pytestmark = [pytest.mark.anyio, pytest.mark.mock_only]


async def journal(api: ContractApi, **params: Any) -> dict[str, Any]:
    response = await api.client.get("/_mock/requests", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_requests_are_journaled_newest_first_with_their_sizes(api: ContractApi) -> None:
    await api.client.delete("/_mock/requests")
    created = await api.created_session(externalId="journaled")
    await api.retrieve("journaled")
    await api.retrieve("missing-one")
    found = await journal(api, environment=api.key)
    assert found["total"] == 3
    newest, middle, oldest = found["requests"]
    assert (oldest["method"], oldest["path"], oldest["status"]) == ("POST", "/api/v1/sessions", 201)
    assert oldest["requestBytes"] > 0 and oldest["responseBytes"] > len(created["id"])
    assert (middle["path"], middle["status"]) == ("/api/v1/sessions/journaled", 200)
    assert (newest["status"], newest["number"]) == (404, 3)
    assert oldest["environment"] == await api.environment_id()


async def test_filters_narrow_the_journal(api: ContractApi, other_api: ContractApi) -> None:
    await api.client.delete("/_mock/requests")
    await api.created_session(externalId="chat/1")
    await append(api, "chat/1", "in", "hello")
    await other_api.list()
    appends = await journal(api, path="/realtime/v1/sessions/*/in/append", method="post")
    assert [r["path"] for r in appends["requests"]] == ["/realtime/v1/sessions/chat%2F1/in/append"]
    assert (await journal(api, status=201))["requests"][0]["path"] == "/api/v1/sessions"
    mine = await journal(api, environment=api.key)
    assert len(mine["requests"]) == 2
    assert (await journal(api, limit=1))["requests"][0]["path"] == "/api/v1/sessions"


async def test_the_control_plane_is_not_journaled_and_reset_empties_it(api: ContractApi) -> None:
    await api.client.delete("/_mock/requests")
    await api.list()
    await journal(api)
    await api.client.get("/_mock/health")
    assert (await journal(api))["total"] == 1
    await api.client.post("/_mock/reset")
    assert await journal(api) == {"total": 0, "requests": []}
