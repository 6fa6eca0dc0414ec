"""The deployed rate limiter on the assembled app: which requests it counts, the headers
every limited answer carries, the exact 429, and refills that follow the fake's clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from mock_server.app import MockApp, create_app
from mock_server.core.clock import ControllableClock
from mock_server.core.fidelity import Fidelity
from mock_server.core.settings import Settings
from tests.support import asgi_client, session_body

pytestmark = pytest.mark.anyio
KEY = "tr_dev_limits000000001"
START_MS = 1_800_000_000_000


@pytest.fixture(params=[Fidelity.DOCUMENTED, Fidelity.DEPLOYED], ids=lambda f: f.value)
def mock(request: pytest.FixtureRequest) -> MockApp:
    clock = ControllableClock(lambda: START_MS)
    return create_app(Settings(fidelity=request.param, rate_limit="3/10"), clock=clock)


@pytest.fixture
async def client(mock: MockApp) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(mock, KEY) as c:
        yield c


async def test_limited_answers_count_down_then_the_exact_429(client: httpx.AsyncClient) -> None:
    remaining = []
    for _ in range(3):
        answer = await client.get("/api/v1/sessions/x")
        assert answer.status_code == 404
        assert answer.headers["x-ratelimit-limit"] == "3"
        assert answer.headers["x-ratelimit-reset"] == str(START_MS + 10_000)
        remaining.append(answer.headers["x-ratelimit-remaining"])
    assert remaining == ["2", "1", "0"]
    refused = await client.get("/api/v1/sessions/x", headers={"Origin": "http://app"})
    assert refused.status_code == 429
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert "access-control-allow-origin" not in refused.headers
    body = refused.json()
    assert (body["limit"], body["remaining"], body["reset"]) == (3, -1, START_MS + 10_000)
    assert body["secondsUntilReset"] == 10
    assert body["error"] == "Rate limit exceeded 0/3 requests remaining. Retry in 10 seconds."


async def test_advancing_the_clock_refills(mock: MockApp, client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await client.get("/api/v1/sessions/x")
    assert (await client.get("/api/v1/sessions/x")).status_code == 429
    mock.state.clock.advance(4.5)
    refused = await client.get("/api/v1/sessions/x")
    assert refused.json()["secondsUntilReset"] == 5.5
    assert "Retry in 5.5 seconds." in refused.json()["detail"]
    assert (await client.post("/_mock/clock", json={"advanceSeconds": 6})).status_code == 200
    assert (await client.get("/api/v1/sessions/x")).status_code == 404


async def test_realtime_claims_options_and_the_control_plane_are_not_limited(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.post("/api/v1/sessions", json=session_body(externalId="s"))).status_code
    for _ in range(5):
        claims = await client.post("/api/v1/auth/jwt/claims")
        assert claims.status_code == 200 and "x-ratelimit-limit" not in claims.headers
        records = await client.get("/realtime/v1/sessions/s/in/records")
        assert records.status_code == 200 and "x-ratelimit-limit" not in records.headers
        preflight = await client.options("/api/v1/sessions", headers={"Origin": "http://a"})
        assert preflight.status_code == 200
        assert (await client.get("/_mock/health")).status_code == 200
    assert (await client.get("/api/v1/sessions/s")).headers["x-ratelimit-remaining"] == "1"


async def test_the_policy_changes_at_run_time_and_a_reset_restores_it(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.put("/_mock/rate-limit", json={"policy": "deployed"})
    assert answer.json() == {"policy": "deployed", "buckets": 0}
    limited = await client.get("/api/v1/sessions/x")
    assert limited.headers["x-ratelimit-limit"] == "750"
    assert limited.headers["x-ratelimit-remaining"] == "749"
    off = await client.put("/_mock/rate-limit", json={"policy": "off"})
    assert off.json()["policy"] == "off"
    assert "x-ratelimit-limit" not in (await client.get("/api/v1/sessions/x")).headers
    bad = await client.put("/_mock/rate-limit", json={"policy": "lots"})
    assert bad.status_code == 400 and "lots" in bad.json()["error"]
    assert (await client.get("/_mock/rate-limit")).json()["policy"] == "off"
    await client.post("/_mock/reset")
    assert (await client.get("/_mock/rate-limit")).json()["policy"] == "3/10"


async def test_public_tokens_get_the_minute_window_under_deployed_limits() -> None:
    clock = ControllableClock(lambda: START_MS)
    mock = create_app(Settings(rate_limit="deployed"), clock=clock)
    transport = httpx.ASGITransport(app=mock)
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as client:
        made = await client.post(
            "/api/v1/sessions",
            json=session_body(externalId="pub"),
            headers={"Authorization": f"Bearer {KEY}"},
        )
        token = made.json()["publicAccessToken"]
        seen = [
            (await client.get("/api/v1/sessions/pub", headers={"Authorization": f"Bearer {token}"}))
            for _ in range(61)
        ]
    assert seen[0].headers["x-ratelimit-limit"] == "60"
    assert seen[0].headers["x-ratelimit-reset"] == str((START_MS // 60_000 + 1) * 60_000)
    assert [a.status_code for a in seen].count(429) == 1 and seen[-1].status_code == 429
    assert seen[-1].json()["remaining"] == 0
