"""Fault rules in process: the control plane's checks, matching, counting, and every
action whose effect an in-process client can see (drops and cuts, which need a socket,
are in tests/http/test_faults_served.py)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from mock_server.app import MockApp, create_app
from mock_server.core.fidelity import Fidelity
from mock_server.core.settings import Settings
from mock_server.http.failures.connection import ConnectionDropped
from tests.support import asgi_client, session_body

pytestmark = pytest.mark.anyio
KEY = "tr_dev_faults0000000001"
OTHER = "tr_dev_faults0000000002"


@pytest.fixture(params=[Fidelity.DOCUMENTED, Fidelity.DEPLOYED], ids=lambda f: f.value)
def mock(request: pytest.FixtureRequest) -> MockApp:
    return create_app(Settings(fidelity=request.param))


@pytest.fixture
async def client(mock: MockApp) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(mock, KEY) as c:
        yield c


async def add(client: httpx.AsyncClient, rule: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post("/_mock/faults", json=rule)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def make_session(client: httpx.AsyncClient, external_id: str) -> None:
    answer = await client.post("/api/v1/sessions", json=session_body(externalId=external_id))
    assert answer.status_code == 201, answer.text


async def test_a_status_fault_answers_once_in_the_api_error_shape(
    client: httpx.AsyncClient,
) -> None:
    await make_session(client, "s1")
    rule = await add(client, {"match": {"operation": "retrieve_session_v1"},
                              "action": {"status": 503}})  # fmt: skip
    assert rule["id"] == "fault_1" and rule["times"] == 1 and rule["remaining"] == 1
    first = await client.get("/api/v1/sessions/s1", headers={"Origin": "http://app"})
    assert first.status_code == 503
    assert first.json() == {"error": "Service Unavailable"}
    assert first.headers["access-control-allow-origin"] == "http://app"  # a browser reads it
    second = await client.get("/api/v1/sessions/s1")
    assert second.status_code == 200 and second.json()["externalId"] == "s1"
    listed = (await client.get("/_mock/faults")).json()["faults"]
    assert [(r["id"], r["fired"], r["remaining"]) for r in listed] == [("fault_1", 1, 0)]


async def test_a_status_fault_can_carry_its_own_body_and_headers(
    client: httpx.AsyncClient,
) -> None:
    await add(client, {"match": {"method": "GET"}, "action": {
        "status": 500, "body": {"error": "boom", "code": 7},
        "headers": {"x-should-retry": "false", "Retry-After": "3"}}})  # fmt: skip
    answer = await client.get("/api/v1/sessions/nope")
    assert answer.status_code == 500
    assert answer.json() == {"error": "boom", "code": 7}
    assert answer.headers["x-should-retry"] == "false"
    assert answer.headers["retry-after"] == "3"
    await add(client, {"action": {"status": 502, "body": "<html>bad gateway</html>",
                                  "headers": {"content-type": "text/html"}}})  # fmt: skip
    html = await client.get("/api/v1/sessions/nope")
    assert (html.status_code, html.text) == (502, "<html>bad gateway</html>")
    assert html.headers["content-type"] == "text/html"


async def test_matching_needs_every_field_and_skips_the_control_plane(
    client: httpx.AsyncClient,
) -> None:
    await make_session(client, "s1")
    await add(client, {"match": {"path": "/api/v1/sessions/s1", "method": "POST",
                                 "environment": KEY}, "action": {"status": 418}})  # fmt: skip
    assert (await client.get("/api/v1/sessions/s1")).status_code == 200  # wrong method
    other = {"Authorization": f"Bearer {OTHER}"}
    assert (await client.get("/_mock/health")).status_code == 200
    # wrong environment: the other key's own 404, not the fault
    assert (await client.post("/api/v1/sessions/s1", json={}, headers=other)).status_code != 418
    assert (await client.post("/api/v1/sessions/s1", json={})).status_code == 418


async def test_a_preflight_is_matched_only_when_named(client: httpx.AsyncClient) -> None:
    await add(client, {"match": {"path": "/api/v1/sessions"}, "action": {"status": 500}})
    preflight = await client.options("/api/v1/sessions", headers={"Origin": "http://app"})
    assert preflight.status_code == 200
    assert (await client.post("/api/v1/sessions", json=session_body())).status_code == 500


async def test_after_store_keeps_the_write_but_answers_the_failure(
    client: httpx.AsyncClient,
) -> None:
    await make_session(client, "s1")
    await add(client, {"match": {"operation": "append_to_session_channel_v1"},
                       "action": {"status": 500, "afterStore": True}})  # fmt: skip
    path = "/realtime/v1/sessions/s1/in/append"
    headers = {"X-Part-Id": "part-1"}
    first = await client.post(path, content=b'{"hello":1}', headers=headers)
    assert first.status_code == 500
    retry = await client.post(path, content=b'{"hello":1}', headers=headers)
    assert retry.status_code == 200
    records = (await client.get("/realtime/v1/sessions/s1/in/records")).json()["records"]
    assert len(records) == 1  # the retry was deduplicated by its X-Part-Id
    # a plain status fault stops the append before the store
    await add(client, {"match": {"operation": "append_to_session_channel_v1"},
                       "action": {"status": 503}})  # fmt: skip
    refused = await client.post(path, content=b'{"n":2}', headers={"X-Part-Id": "part-2"})
    assert refused.status_code == 503
    records = (await client.get("/realtime/v1/sessions/s1/in/records")).json()["records"]
    assert len(records) == 1


async def test_exactly_times_requests_get_it_under_concurrency(
    client: httpx.AsyncClient,
) -> None:
    await make_session(client, "s1")
    await add(client, {"match": {"operation": "retrieve_session_v1"},
                       "action": {"status": 503, "delayMs": 5}, "times": 7})  # fmt: skip
    answers = await asyncio.gather(*(client.get("/api/v1/sessions/s1") for _ in range(50)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(503) == 7 and statuses.count(200) == 43


async def test_times_null_fires_until_removed(client: httpx.AsyncClient) -> None:
    rule = await add(client, {"action": {"status": 500}, "times": None})
    for _ in range(5):
        assert (await client.get("/api/v1/sessions/x")).status_code == 500
    assert (await client.get(f"/_mock/faults/{rule['id']}")).json()["fired"] == 5
    assert (await client.delete(f"/_mock/faults/{rule['id']}")).status_code == 204
    assert (await client.get("/api/v1/sessions/x")).status_code == 404
    assert (await client.delete(f"/_mock/faults/{rule['id']}")).status_code == 404


async def test_a_seed_gives_the_same_flaky_sequence_every_time(mock: MockApp) -> None:
    async def run() -> list[int]:
        fresh = create_app(Settings(fidelity=mock.settings.fidelity))
        transport = httpx.ASGITransport(app=fresh)
        async with httpx.AsyncClient(transport=transport, base_url="http://fake",
                                     headers={"Authorization": f"Bearer {KEY}"}) as c:  # fmt: skip
            await add(c, {"action": {"status": 503}, "times": None,
                          "probability": 0.3, "seed": 42})  # fmt: skip
            return [(await c.get("/api/v1/sessions/x")).status_code for _ in range(40)]

    first, second = await run(), await run()
    assert first == second
    assert 3 <= first.count(503) <= 25  # flaky, not always nor never


async def test_a_delay_holds_a_normal_answer(client: httpx.AsyncClient) -> None:
    await make_session(client, "s1")
    await add(client, {"action": {"delayMs": 200}})
    started = time.monotonic()
    answer = await client.get("/api/v1/sessions/s1")
    assert answer.status_code == 200 and time.monotonic() - started >= 0.19
    await add(client, {"action": {"delay": {"type": "uniform", "lowerMs": 100, "upperMs": 120}}})
    started = time.monotonic()
    assert (await client.get("/api/v1/sessions/s1")).status_code == 200
    assert time.monotonic() - started >= 0.099
    await add(client, {"action": {"delay": {"type": "lognormal", "medianMs": 150, "sigma": 0}}})
    started = time.monotonic()
    assert (await client.get("/api/v1/sessions/s1")).status_code == 200
    assert time.monotonic() - started >= 0.149  # sigma 0: exactly the median


async def test_an_injected_429_is_the_deployed_refusal(client: httpx.AsyncClient) -> None:
    await add(client, {"action": {"rateLimit": {"resetSeconds": 2}}})
    answer = await client.get("/api/v1/sessions/x", headers={"Origin": "http://app"})
    assert answer.status_code == 429
    assert answer.headers["content-type"] == "application/problem+json; charset=utf-8"
    assert "access-control-allow-origin" not in answer.headers
    assert "retry-after" not in answer.headers
    body = answer.json()
    reset = int(answer.headers["x-ratelimit-reset"])
    assert body["reset"] == reset and answer.headers["x-ratelimit-limit"] == "750"
    assert answer.headers["x-ratelimit-remaining"] == "0" and body["remaining"] == -1
    assert body["secondsUntilReset"] == 2
    assert (
        body["detail"]
        == body["error"]
        == ("Rate limit exceeded 0/750 requests remaining. Retry in 2 seconds.")
    )
    assert answer.text.startswith('{\n  "title": "Rate Limit Exceeded",\n  "status": 429,')


async def test_the_journal_marks_injected_answers(client: httpx.AsyncClient) -> None:
    rule = await add(client, {"action": {"status": 503}})
    await client.get("/api/v1/sessions/x")
    await client.get("/api/v1/sessions/x")
    entries = (await client.get("/_mock/requests")).json()["requests"]
    assert [(e["status"], e["fault"]) for e in entries] == [(404, None), (503, rule["id"])]


async def test_dribble_sends_a_normal_answer(client: httpx.AsyncClient) -> None:
    await make_session(client, "s1")
    await add(client, {"action": {"dribble": {"chunks": 4, "totalMs": 120}}})
    started = time.monotonic()
    answer = await client.get("/api/v1/sessions/s1")
    assert answer.status_code == 200 and answer.json()["externalId"] == "s1"
    assert time.monotonic() - started >= 0.1


async def test_drops_without_a_socket_raise_in_the_client(client: httpx.AsyncClient) -> None:
    await add(client, {"action": {"drop": "reset"}})
    with pytest.raises(ConnectionDropped):
        await client.get("/api/v1/sessions/x")


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"action": {}}, "The action does nothing"),
        ({"action": {"status": 503, "drop": "reset"}}, "at most one of"),
        ({"action": {"status": 99}}, "status"),
        ({"action": {"drop": "explode"}}, "drop"),
        ({"action": {"delayMs": 5, "delay": {"type": "fixed", "ms": 5}}}, "delayMs or delay"),
        ({"action": {"delay": {"type": "lognormal", "sigma": 1}}}, "needs medianMs"),
        ({"action": {"delay": {"type": "uniform", "lowerMs": 9, "upperMs": 1}}}, "lowerMs"),
        ({"action": {"body": {}}}, "body goes with status"),
        ({"action": {"afterStore": True, "drop": "hang"}}, "afterStore goes with status"),
        ({"action": {"status": 204, "body": "x"}}, "has no body"),
        ({"action": {"status": 500}, "match": {"operation": "nope"}}, "Unknown operationId"),
        ({"action": {"status": 500}, "times": 0}, "times"),
        ({"action": {"status": 500}, "probability": 0}, "probability"),
        ({"action": {"status": 500}, "bogus": 1}, "bogus"),
        ({"action": {"status": 500, "headers": {"a b": "x"}}}, "Not a header name"),
        ({"action": {"status": 500, "headers": {"x": "a\r\nb"}}}, "CR, LF"),
    ],
)
async def test_bad_rules_are_refused_with_a_reason_and_nothing_stored(
    client: httpx.AsyncClient, rule: dict[str, Any], message: str
) -> None:
    answer = await client.post("/_mock/faults", json=rule)
    assert answer.status_code in (400, 422), answer.text
    assert message in answer.json()["error"]
    assert (await client.get("/_mock/faults")).json()["faults"] == []


async def test_a_full_reset_clears_the_rules_and_restarts_ids(client: httpx.AsyncClient) -> None:
    await add(client, {"action": {"status": 500}, "times": None})
    assert (await client.post("/_mock/reset")).status_code == 200
    assert (await client.get("/_mock/faults")).json()["faults"] == []
    assert (await client.get("/api/v1/sessions/x")).status_code == 404
    assert (await add(client, {"action": {"status": 500}}))["id"] == "fault_1"
    assert (await client.delete("/_mock/faults")).json() == {"removed": 1}
    assert (await add(client, {"action": {"status": 500}}))["id"] == "fault_2"


async def test_health_counts_rules_and_names_the_limiter(client: httpx.AsyncClient) -> None:
    await add(client, {"action": {"status": 500}})
    health = (await client.get("/_mock/health")).json()
    assert (health["faults"], health["rateLimit"]) == (1, "off")


def test_rule_bodies_round_trip_as_given() -> None:
    async def go() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=create_app(Settings()))
        async with httpx.AsyncClient(transport=transport, base_url="http://fake") as c:
            return await add(c, {"match": {"method": "get"}, "action": {"delayMs": 5},
                                 "probability": 0.5, "seed": 3, "times": 2})  # fmt: skip

    stored = asyncio.run(go())
    assert json.loads(json.dumps(stored)) == {
        "id": "fault_1", "match": {"method": "get"}, "action": {"delayMs": 5}, "times": 2,
        "probability": 0.5, "seed": 3, "fired": 0, "remaining": 2,
    }  # fmt: skip


async def test_an_environment_reset_removes_only_its_rules(client: httpx.AsyncClient) -> None:
    await add(client, {"match": {"environment": KEY}, "action": {"status": 500}})
    await add(client, {"match": {"environment": OTHER}, "action": {"status": 500}})
    await add(client, {"action": {"status": 500}})
    assert (await client.post("/_mock/reset", json={"environment": KEY})).status_code == 200
    left = (await client.get("/_mock/faults")).json()["faults"]
    assert [r["id"] for r in left] == ["fault_2", "fault_3"]
