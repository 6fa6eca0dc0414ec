"""The proxy in front of upstreams that drift from the spec (:mod:`.drifts`): each drift is
reported under its rule and no other, the answer comes through byte for byte, and the same
requests to the honest fake are reported clean."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from mock_server.app.proxy import create_proxy
from mock_server.core.settings import ProxySettings
from mock_server.proxy.forward import HOP_BY_HOP, VIOLATIONS_HEADER

from .drifts import DRIFTS, Answer, drifting

HOP_BY_HOP_BYTES = frozenset(name.encode() for name in HOP_BY_HOP)

AUTH = {"Authorization": "Bearer tr_dev_drifts"}
SESSIONS = "/api/v1/sessions"


def create_body(external_id: str = "drift", **extra: Any) -> dict[str, Any]:
    return {
        "type": "chat.agent",
        "taskIdentifier": "drift-task",
        "externalId": external_id,
        "triggerConfig": {"basePayload": {}},
        **extra,
    }


@dataclass
class Driver:
    """Sends requests through the proxy and keeps each answer."""

    client: httpx.AsyncClient
    responses: list[httpx.Response] = field(default_factory=list)

    async def __call__(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = await self.client.request(method, url, **kwargs)
        self.responses.append(response)
        return response

    async def create(self, external_id: str = "drift") -> httpx.Response:
        return await self("POST", SESSIONS, json=create_body(external_id), headers=AUTH)


Scenario = Callable[[Driver], Awaitable[None]]


async def a_missing_session(call: Driver) -> None:
    await call("GET", f"{SESSIONS}/no-such-session", headers=AUTH)


async def a_browser_list(call: Driver) -> None:
    await call("GET", SESSIONS, headers={**AUTH, "Origin": "https://app.example"})


async def a_create(call: Driver) -> None:
    await call.create()


async def a_create_twice(call: Driver) -> None:
    await call.create()
    await call.create()


async def a_subscription(call: Driver) -> None:
    await call.create()
    await call("POST", "/realtime/v1/sessions/drift/out/append", content=b"{}", headers=AUTH)
    await call("GET", "/realtime/v1/sessions/drift/out", headers={**AUTH, "Timeout-Seconds": "1"})


async def a_retrieve(call: Driver) -> None:
    await call.create()
    await call("GET", f"{SESSIONS}/drift", headers=AUTH)


async def a_channel_opened_and_followed(call: Driver) -> None:
    await call.create()
    await call("PUT", "/realtime/v1/sessions/drift/out", headers=AUTH)
    await call("GET", "/realtime/v1/sessions/drift/out", headers={**AUTH, "Timeout-Seconds": "1"})


async def a_preflight(call: Driver) -> None:
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    await call("OPTIONS", SESSIONS, headers=preflight)


async def an_unknown_route(call: Driver) -> None:
    await call("GET", "/api/v1/teapots", headers=AUTH)


async def a_too_large_create(call: Driver) -> None:
    body = create_body(metadata={"padding": "x" * 40_000})
    await call("POST", SESSIONS, json=body, headers=AUTH)


async def an_invalid_create(call: Driver) -> None:
    body = create_body()
    del body["triggerConfig"]
    await call("POST", SESSIONS, json=body, headers=AUTH)


async def an_empty_create(call: Driver) -> None:
    await call("POST", SESSIONS, headers=AUTH)


async def an_anonymous_list(call: Driver) -> None:
    await call("GET", SESSIONS)


async def an_append_to_no_channel(call: Driver) -> None:
    await call.create()
    await call("POST", "/realtime/v1/sessions/drift/sideways/append", content=b"{}", headers=AUTH)


@dataclass(frozen=True)
class Case:
    scenario: Scenario
    rules: frozenset[str]
    """Every rule the drift must be reported under, and the only ones allowed."""
    expect: str = "either"


CASES: dict[str, Case] = {
    # The 404's schema (Error) requires ``error`` too, so the schema names the drift as well.
    "error-shape": Case(a_missing_session, frozenset({"error-envelope", "response.schema"})),
    "missing-cors": Case(a_browser_list, frozenset({"cors"})),
    "date-format": Case(a_create, frozenset({"date-format"})),
    "cached-create-status": Case(a_create_twice, frozenset({"is-cached"})),
    "sse-v1": Case(a_subscription, frozenset({"sse-framing"})),
    # SessionObject's ``id`` has the pattern ``^session_c…``: the schema sees it too.
    "id-shape": Case(a_create, frozenset({"id-shape", "response.schema"})),
    "undocumented-status": Case(a_retrieve, frozenset({"response.status"})),
    "missing-field": Case(a_create, frozenset({"response.schema"})),
    "wrong-content-type": Case(a_create, frozenset({"response.content-type"})),
    "not-json": Case(a_create, frozenset({"response.json"})),
    "missing-header": Case(a_channel_opened_and_followed, frozenset({"response.headers"})),
    "wrong-preflight": Case(a_preflight, frozenset({"cors"})),
    "undocumented-route": Case(an_unknown_route, frozenset({"response.operation"})),
    # A proxy expecting the docs' 422 sees the deployed server's 413 (a status create lists).
    "too-large-413": Case(a_too_large_create, frozenset({"fidelity"}), expect="documented"),
    "accepts-invalid": Case(an_invalid_create, frozenset({"request.schema"})),
    "accepts-empty": Case(an_empty_create, frozenset({"request.body"})),
    "accepts-anonymous": Case(an_anonymous_list, frozenset({"request.credentials"})),
    "accepts-bad-parameter": Case(an_append_to_no_channel, frozenset({"request.parameters"})),
}


async def run(kind: str, case: Case) -> tuple[Driver, list[Answer], list[dict[str, Any]]]:
    """The case's requests through a proxy in front of ``kind``: what the client got, what
    the upstream sent, and the violations the proxy listed."""
    upstream = drifting(kind)
    settings = ProxySettings(upstream="http://upstream", expect=case.expect)
    proxy = create_proxy(settings, transport=httpx.ASGITransport(app=upstream))
    transport = httpx.ASGITransport(app=proxy)
    async with httpx.AsyncClient(transport=transport, base_url="http://proxy") as client:
        driver = Driver(client)
        await case.scenario(driver)
        listed = (await client.get("/_mock/violations")).json()["violations"]
    await proxy.aclose()
    return driver, upstream.answers, listed


def test_every_drift_has_a_case() -> None:
    assert set(CASES) == set(DRIFTS) - {"honest"}
    assert len(CASES) >= 12


def assert_passed_on_unchanged(
    driver: Driver, answers: list[Answer], listed: list[dict[str, Any]]
) -> None:
    """Each answer the client got is the upstream's: status, body and headers (but the
    hop-by-hop ones), with one ``x-trigger-mock-violations`` added."""
    assert len(driver.responses) == len(answers)
    counted = 0
    for got, sent in zip(driver.responses, answers, strict=True):
        assert got.status_code == sent.status
        assert got.content == sent.body
        added = [v for k, v in got.headers.raw if k.lower() == VIOLATIONS_HEADER]
        assert len(added) == 1
        counted += int(added[0])
        passed = [(k.lower(), v) for k, v in got.headers.raw if k.lower() != VIOLATIONS_HEADER]
        upstream = [(k.lower(), v) for k, v in sent.headers if k.lower() not in HOP_BY_HOP_BYTES]
        assert passed == upstream
    streamed = any(
        r.headers.get("content-type", "").startswith("text/event-stream") for r in driver.responses
    )
    # A whole answer's header counts all its violations; a stream's, those of its head.
    assert counted <= len(listed) if streamed else counted == len(listed)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", sorted(CASES))
async def test_each_drift_is_reported_under_its_rule_and_passed_on(kind: str) -> None:
    case = CASES[kind]
    driver, answers, listed = await run(kind, case)
    assert {v["rule"] for v in listed} == case.rules, listed
    assert_passed_on_unchanged(driver, answers, listed)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", sorted(CASES))
async def test_the_same_requests_to_the_honest_fake_are_clean(kind: str) -> None:
    driver, answers, listed = await run("honest", CASES[kind])
    assert listed == []
    assert_passed_on_unchanged(driver, answers, listed)
