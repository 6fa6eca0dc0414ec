"""CORS on what only the fake has: the control plane, unknown routes, and a 401."""

from __future__ import annotations

import pytest

from contract_tests.harness.client import ContractApi

# Only the fake has these: the contract plugin runs them on its fake targets.
pytestmark = [pytest.mark.anyio, pytest.mark.mock_only]

ORIGIN = "http://localhost:5173"


async def test_the_control_plane_answers_preflights(api: ContractApi) -> None:
    response = await api.client.options("/_mock/health", headers={"Origin": ORIGIN})
    assert response.status_code == 200 and response.json() == {}
    assert response.headers["access-control-allow-origin"] == ORIGIN


@pytest.mark.parametrize(
    ("path", "status"), [("/nowhere", 404), ("/api/v1/sessions/%ff/close", 400)]
)
async def test_the_fakes_own_errors_carry_cors(api: ContractApi, path: str, status: int) -> None:
    response = await api.request("POST", path, headers={"Origin": ORIGIN})
    assert response.status_code == status
    assert response.headers["access-control-allow-origin"] == ORIGIN


async def test_a_401_carries_cors_on_the_fake(api: ContractApi) -> None:
    # a bad key (no key at all is answered before CORS when following the deployed server)
    headers = {"Origin": ORIGIN, "Authorization": "Bearer nope"}
    response = await api.client.get("/api/v1/sessions", headers=headers)
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["vary"] == "Origin"


async def test_a_preflight_without_an_origin_allows_no_origin(api: ContractApi) -> None:
    response = await api.client.options("/api/v1/sessions")
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["vary"] == "Access-Control-Request-Headers"
