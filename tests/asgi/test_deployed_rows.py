"""Rows of the fidelity table read from the deployed server's own code, each seen in both
modes on the assembled app (the contract suite observes the same rows on any target)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from mock_server.app import MockApp, create_app
from mock_server.core.fidelity import Fidelity
from mock_server.core.settings import Settings
from mock_server.http.bodies import js_falsy
from tests.support import asgi_client, session_body

pytestmark = pytest.mark.anyio
KEY = "tr_dev_deployedrows0001"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(params=list(Fidelity), ids=lambda f: f.value)
def mock(request: pytest.FixtureRequest) -> MockApp:
    return create_app(Settings(fidelity=request.param))


@pytest.fixture
async def client(mock: MockApp) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(mock, KEY) as c:
        yield c


def deployed(mock: MockApp) -> bool:
    return mock.settings.fidelity is Fidelity.DEPLOYED


def test_which_json_values_javascript_reads_as_false() -> None:
    falsy: list[object] = [None, False, 0, 0.0, ""]
    truthy: list[object] = [{}, [], True, 1, "0", -1.5]
    assert [js_falsy(v) for v in falsy] == [True] * 5
    assert [js_falsy(v) for v in truthy] == [False] * 6


@pytest.mark.parametrize("content", [b"null", b"false", b"0", b'""', b"-0.0"])
async def test_falsy_bodies_on_every_action_with_a_body(
    mock: MockApp, client: httpx.AsyncClient, content: bytes
) -> None:
    made = await client.post("/api/v1/sessions", json=session_body(externalId="s"))
    assert made.status_code == 201
    answers = [
        await client.request(method, path, content=content, headers=JSON)
        for method, path in (
            ("POST", "/api/v1/sessions"),
            ("PATCH", "/api/v1/sessions/s"),
            ("POST", "/api/v1/sessions/s/close"),
            ("POST", "/api/v1/sessions/s/end-and-continue"),
        )
    ]
    for answer in answers:
        if deployed(mock):
            assert (answer.status_code, answer.json()) == (400, {"error": "Invalid JSON"})
        else:
            assert answer.status_code == 422 and "Expected object" in answer.json()["error"]
    assert (await client.get("/api/v1/sessions/s")).json()["closedAt"] is None


async def test_truthy_non_objects_are_still_validation_errors(
    mock: MockApp, client: httpx.AsyncClient
) -> None:
    answer = await client.post("/api/v1/sessions", content=b"[]", headers=JSON)
    assert answer.status_code == (400 if deployed(mock) else 422)
    assert "Expected object, received array" in answer.json()["error"]


async def test_no_authorization_header(mock: MockApp) -> None:
    transport = httpx.ASGITransport(app=mock)
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as bare:
        origin = {"Origin": "http://app"}
        answers = {
            path: await bare.get(path, headers=origin)
            for path in ("/api/v1/sessions", "/api/v1/sessions/x", "/api/v2/unknown")
        }
        preflight = await bare.options("/api/v1/sessions", headers=origin)
        realtime = await bare.get("/realtime/v1/sessions/x/in/records", headers=origin)
        claims = await bare.post("/api/v1/auth/jwt/claims", headers=origin)
    for path, answer in answers.items():
        assert answer.status_code == (401 if path != "/api/v2/unknown" or deployed(mock) else 404)
        if deployed(mock):
            assert answer.headers["content-type"] == "application/problem+json; charset=utf-8"
            assert answer.json()["detail"] == "No authorization header provided"
            assert answer.text.startswith('{\n  "title": "Unauthorized",\n  "status": 401,')
            assert "access-control-allow-origin" not in answer.headers
        elif answer.status_code == 401:
            assert answer.json() == {"error": "Invalid or Missing API key"}
            assert answer.headers["access-control-allow-origin"] == "http://app"
    assert preflight.status_code == 200
    assert realtime.status_code == 401 and "title" not in realtime.json()
    assert claims.json() == {"error": "Invalid or Missing API key"}
    assert ("access-control-allow-origin" in claims.headers) is not deployed(mock)


@pytest.mark.parametrize("credential", ["tr_dev_", "not-a-key", "public-token"])
async def test_claims_refusals(mock: MockApp, client: httpx.AsyncClient, credential: str) -> None:
    if credential == "public-token":
        made = await client.post("/api/v1/sessions", json=session_body())
        credential = made.json()["publicAccessToken"]
    answer = await client.post(
        "/api/v1/auth/jwt/claims",
        headers={"Authorization": f"Bearer {credential}", "Origin": "http://app"},
    )
    assert answer.status_code == 401
    if deployed(mock):
        assert answer.json() == {"error": "Invalid or Missing API key"}
        assert not [h for h in answer.headers if h.startswith("access-control-")]
        assert "x-trigger-mock-no-cors" not in answer.headers
    else:
        assert answer.json() == {"error": "Invalid API key"}
        assert answer.headers["access-control-allow-origin"] == "http://app"
    ok = await client.post("/api/v1/auth/jwt/claims", headers={"Origin": "http://app"})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "http://app"


async def test_trailing_slashes_and_the_edge_headers(
    mock: MockApp, client: httpx.AsyncClient
) -> None:
    moved = await client.get("/api//v1/sessions/", params={"page[size]": "2"})
    answer = await client.get("/api/v1/sessions")
    refused = await client.get("/api/v1/sessions", headers={"Authorization": ""})
    health = await client.get("/_mock/health")
    if deployed(mock):
        assert moved.status_code == 301
        assert moved.headers["location"] == "/api/v1/sessions?page%5Bsize%5D=2"
        assert moved.text == "Moved Permanently. Redirecting to /api/v1/sessions?page%5Bsize%5D=2"
        for each in (moved, answer, refused):
            assert each.headers["strict-transport-security"] == "max-age=3153600000"
            assert each.headers["x-robots-tag"] == "noindex, nofollow"
    else:
        assert moved.status_code in (307, 404)
        assert "strict-transport-security" not in answer.headers
    assert "strict-transport-security" not in health.headers


async def test_an_unknown_io_is_a_params_error_in_zod_words(client: httpx.AsyncClient) -> None:
    answer = await client.post("/realtime/v1/sessions/x/sideways/append", content=b"hi")
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "Params Error",
        "details": [
            {
                "code": "invalid_enum_value",
                "message": "Invalid enum value. Expected 'out' | 'in', received 'sideways'",
                "path": ["io"],
            }
        ],
    }


async def test_appends_to_unknown_sessions(mock: MockApp, client: httpx.AsyncClient) -> None:
    made = await client.post("/api/v1/sessions", json=session_body(externalId="mine"))
    mine = made.json()["publicAccessToken"]  # write:sessions:mine
    path = "/realtime/v1/sessions/ghost/in/append"
    scoped_elsewhere = await client.post(
        path, content=b"hi", headers={"Authorization": f"Bearer {mine}"}
    )
    assert scoped_elsewhere.status_code == (403 if deployed(mock) else 404)
    assert (await client.post(path, content=b"hi")).status_code == 404  # secret key
    known = "/realtime/v1/sessions/mine/in/append"
    assert (
        await client.post(known, content=b"hi", headers={"Authorization": f"Bearer {mine}"})
    ).status_code == 200


@pytest.mark.parametrize(
    ("value", "deployed_answer"),
    [
        ("2024-01-01T00:00:00Z", "Expected number, received nan"),
        ("1.5", "Expected integer, received float"),
        (" 0x10 ", None),
        ("", None),
        ("1e3", None),
        ("1700000000000", None),
    ],
)
async def test_created_at_bounds(
    mock: MockApp, client: httpx.AsyncClient, value: str, deployed_answer: str | None
) -> None:
    answer = await client.get("/api/v1/sessions", params={"filter[createdAt][from]": value})
    if deployed(mock):
        if deployed_answer is None:
            assert answer.status_code == 200
        else:
            assert answer.status_code == 400
            assert answer.json()["details"][0]["message"] == deployed_answer
    else:  # epoch ms or ISO 8601, nothing else
        accepted = value in ("2024-01-01T00:00:00Z", "1700000000000")
        assert answer.status_code == (200 if accepted else 400)


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (4102444800000, "2100-01-01T00:00:00.000Z"),
        ("2100-01-01", "2100-01-01T00:00:00.000Z"),
        ("Fri, 01 Jan 2100 00:00:00 GMT", "2100-01-01T00:00:00.000Z"),
        ("2100/01/01 10:00", "2100-01-01T10:00:00.000Z"),
        ("2100-01-01T00:00:00.000Z", "2100-01-01T00:00:00.000Z"),
        (None, 409),
        ("soon", 400),
        (1.9e20, 400),
    ],
)
async def test_expires_at_coercion(
    mock: MockApp, client: httpx.AsyncClient, value: object, stored: str | int
) -> None:
    answer = await client.post("/api/v1/sessions", json=session_body(expiresAt=value))
    if not deployed(mock):
        ok = value == "2100-01-01T00:00:00.000Z"
        assert answer.status_code == (201 if ok else 422)
    elif isinstance(stored, str):
        assert answer.status_code == 201 and answer.json()["expiresAt"] == stored
    else:
        assert answer.status_code == stored
        if stored == 400:
            assert answer.json() == {"error": 'Validation error: Invalid date at "expiresAt"'}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/sessions/s/close",
        "/api/v1/sessions/s/end-and-continue",
        "/realtime/v1/sessions/s/in/append",
        "/realtime/v1/sessions/s/channels/c/out/append",
    ],
)
async def test_get_on_action_only_routes(
    mock: MockApp, client: httpx.AsyncClient, path: str
) -> None:
    answer = await client.get(path, headers={"Origin": "http://app"})
    assert answer.status_code == 405
    if deployed(mock):
        assert answer.content == b"" and "allow" not in answer.headers
        assert "access-control-allow-origin" not in answer.headers
    else:
        assert answer.json() == {"error": "Method not allowed"}
        assert answer.headers["allow"] == "POST"
    put = await client.put(path, headers={"Origin": "http://app"})  # the action's own check
    assert put.status_code == 405 and put.json() == {"error": "Method not allowed"}
