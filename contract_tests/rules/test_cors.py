"""CORS, so a browser app on another origin can call the API."""

from __future__ import annotations

import pytest

from ..harness.client import ContractApi

pytestmark = pytest.mark.anyio

ORIGIN = "http://localhost:5173"
EXPOSED = "x-trigger-jwt,x-trigger-jwt-claims"


@pytest.mark.parametrize("path", ["/api/v1/sessions", "/api/v1/sessions/chat%2F1/close"])
async def test_a_preflight_is_answered_before_authentication(api: ContractApi, path: str) -> None:
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


@pytest.mark.writes
async def test_responses_echo_the_origin_and_expose_the_jwt_headers(api: ContractApi) -> None:
    response = await api.request(
        "POST", "/api/v1/sessions", json=api.body(), headers={"Origin": ORIGIN}
    )
    assert response.status_code == 201
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["vary"] == "Origin"
    assert response.headers["access-control-expose-headers"] == EXPOSED


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/sessions/contract-missing", 404),
        ("GET", "/api/v1/sessions?page[size]=0", 400),
        ("PATCH", "/api/v1/sessions/contract-missing", 404),
    ],
)
async def test_error_responses_carry_cors_too(
    api: ContractApi, method: str, path: str, status: int
) -> None:
    response = await api.request(method, path, headers={"Origin": ORIGIN}, json={})
    assert response.status_code == status
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-expose-headers"] == EXPOSED


async def test_without_an_origin_no_origin_is_allowed(api: ContractApi) -> None:
    response = await api.list()
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["access-control-expose-headers"] == EXPOSED
