"""CORS, so a browser app on another origin can call the fake."""

from __future__ import annotations

import pytest

from tests.support import Api

pytestmark = pytest.mark.anyio

ORIGIN = "http://localhost:5173"


@pytest.mark.parametrize(
    "path", ["/api/v1/sessions", "/api/v1/sessions/chat%2F1/close", "/_mock/health"]
)
async def test_preflight_is_answered_before_authentication(api: Api, path: str) -> None:
    response = await api.client.options(
        path,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, x-trigger-source",
        },
    )
    assert response.status_code == 200
    assert response.json() == {}
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-methods"] == "GET,HEAD,PUT,PATCH,POST,DELETE"
    assert response.headers["access-control-allow-headers"] == (
        "authorization, content-type, x-trigger-source"
    )
    assert response.headers["access-control-max-age"] == "300"
    assert response.headers["vary"] == "Origin, Access-Control-Request-Headers"
    assert "access-control-expose-headers" not in response.headers


async def test_preflight_without_origin_allows_no_origin(api: Api) -> None:
    response = await api.client.options("/api/v1/sessions")
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["vary"] == "Access-Control-Request-Headers"


async def test_responses_echo_the_origin_and_expose_the_jwt_headers(api: Api) -> None:
    response = await api.request(
        "POST",
        "/api/v1/sessions",
        json={"type": "t", "taskIdentifier": "x", "triggerConfig": {"basePayload": {}}},
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 201
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["vary"] == "Origin"
    assert response.headers["access-control-expose-headers"] == "x-trigger-jwt,x-trigger-jwt-claims"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/sessions/missing", 404),
        ("GET", "/api/v1/sessions?page[size]=0", 400),
        ("POST", "/api/v1/sessions/%ff/close", 400),
        ("GET", "/nowhere", 404),
    ],
)
async def test_error_responses_carry_cors_too(
    api: Api, method: str, path: str, status: int
) -> None:
    response = await api.request(method, path, headers={"Origin": ORIGIN})
    assert response.status_code == status
    assert response.headers["access-control-allow-origin"] == ORIGIN
    unauthenticated = await api.client.get("/api/v1/sessions", headers={"Origin": ORIGIN})
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["access-control-allow-origin"] == ORIGIN


async def test_without_an_origin_only_the_exposed_headers_are_sent(api: Api) -> None:
    response = await api.list()
    assert "access-control-allow-origin" not in response.headers
    assert "vary" not in response.headers
    assert response.headers["access-control-expose-headers"] == "x-trigger-jwt,x-trigger-jwt-claims"
