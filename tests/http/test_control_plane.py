"""The /_mock/ control plane: health, reset, state dump and clock."""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests.harness.client import ContractApi

# Only the fake has these: the contract plugin runs them on its fake targets.
pytestmark = [pytest.mark.anyio, pytest.mark.mock_only]


async def test_health_reports_mode_and_version(api: ContractApi) -> None:
    response = await api.client.get("/_mock/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["fidelity"] == api.target.fidelity
    assert body["adminTokenRequired"] is False


async def test_reset_of_one_environment_keeps_the_others(
    api: ContractApi, other_api: ContractApi
) -> None:
    await api.created_session(externalId="a")
    await api.created_session(externalId="b")
    kept = await other_api.created_session(externalId="a")
    response = await api.client.post("/_mock/reset", json={"environment": api.key})
    assert response.json() == {"dropped": 2}
    assert (await api.list()).json()["data"] == []
    assert (await api.create(externalId="a")).status_code == 201
    assert (await other_api.retrieve("a")).json()["id"] == kept["id"]


async def test_full_reset_forgets_everything_and_the_clock(
    api: ContractApi, other_api: ContractApi
) -> None:
    await api.created_session()
    await other_api.created_session()
    await api.set_clock(advanceSeconds=86_400)
    response = await api.client.post("/_mock/reset")
    assert response.status_code == 200 and response.json()["dropped"] >= 2
    assert (await api.list()).json()["data"] == []
    assert (await other_api.list()).json()["data"] == []
    assert (await api.client.get("/_mock/clock")).json()["real"] is True


async def test_sessions_dump_shows_each_environment_with_status(api: ContractApi) -> None:
    env = (await api.request("POST", "/api/v1/auth/jwt/claims")).json()["sub"]
    open_one = await api.created_session()
    closed = await api.created_session(externalId="x")
    await api.close("x")
    for selector in (api.key, env):
        response = await api.client.get("/_mock/sessions", params={"environment": selector})
        assert response.status_code == 200
        [environment] = response.json()["environments"]
        assert environment["id"] == env and environment["kind"] == "dev"
        states = {row["id"]: row["status"] for row in environment["sessions"]}
        assert states == {open_one["id"]: "ACTIVE", closed["id"]: "CLOSED"}


async def test_clock_moves_set_freeze_and_return(api: ContractApi) -> None:
    state = await api.set_clock(set="2031-05-06T07:08:09.010Z", frozen=True)
    assert state == {
        "now": "2031-05-06T07:08:09.010Z",
        "offsetMs": 0,
        "frozen": True,
        "real": False,
    }
    assert (await api.created_session())["createdAt"] == "2031-05-06T07:08:09.010Z"
    state = await api.set_clock(advanceSeconds=1.5)
    assert state["now"] == "2031-05-06T07:08:10.510Z" and state["frozen"] is True
    state = await api.set_clock(real=True)
    assert state["real"] is True and state["offsetMs"] == 0
    moved = await api.set_clock(advanceSeconds=-3600)
    assert moved["offsetMs"] == -3_600_000 and moved["frozen"] is False


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"advanceSeconds": 1, "real": True},
        {"set": "tomorrow"},
        {"advanceSeconds": "x"},
        {"real": False},
    ],
)
async def test_bad_clock_requests_are_refused(api: ContractApi, body: dict[str, Any]) -> None:
    response = await api.client.post("/_mock/clock", json=body)
    assert 400 <= response.status_code < 500
    assert "error" in response.json()
    assert (await api.client.get("/_mock/clock")).json()["real"] is True
