"""The fake's own policies beyond the contract: open environments, strict JSON, nesting
limits and unknown routes, all answered in the API's error shape."""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests.harness.client import ContractApi, new_key

# Only the fake has these: the contract plugin runs them on its fake targets.
pytestmark = [pytest.mark.anyio, pytest.mark.mock_only]
JSON = {"content-type": "application/json"}


async def nothing_stored(api: ContractApi) -> bool:
    data: list[Any] = (await api.list()).json()["data"]
    return not data


async def test_every_key_kind_is_its_own_environment(api: ContractApi) -> None:
    for kind in ("dev", "stg", "prod", "preview"):
        assert (await api.create(credential=new_key(kind))).status_code == 201


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe{}", b'{"metadata":{"x":1e400}}', b"[" * 10_000 + b"]" * 10_000],
)
async def test_json_the_fake_cannot_hold_is_invalid(api: ContractApi, content: bytes) -> None:
    response = await api.request("POST", "/api/v1/sessions", content=content, headers=JSON)
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid JSON"}


@pytest.mark.parametrize(("content", "received"), [(b"42", "number"), (b"true", "boolean")])
async def test_json_that_is_not_an_object_is_a_validation_error(
    api: ContractApi, content: bytes, received: str
) -> None:
    """(``null`` and other falsy values: a fidelity row, in tests/asgi/test_deployed_rows.py.)"""
    response = await api.request("POST", "/api/v1/sessions", content=content, headers=JSON)
    assert response.status_code == (400 if api.target.fidelity == "deployed" else 422)
    assert f"Expected object, received {received}" in response.json()["error"]


async def test_unknown_routes_and_methods(api: ContractApi) -> None:
    response = await api.request("GET", "/api/v1/nothing")
    assert response.status_code == 404 and response.json() == {"error": "Not found"}
    response = await api.request("DELETE", "/api/v1/sessions/x")
    assert response.status_code == 405 and response.json() == {"error": "Method not allowed"}
    assert response.headers["allow"] == "GET, PATCH"
    response = await api.request("GET", "/api/v1/sessions/x/close")
    assert response.status_code == 405
    if api.target.fidelity == "deployed":  # the route's stand-in loader (a fidelity row)
        assert response.content == b"" and "allow" not in response.headers
    else:
        assert response.json() == {"error": "Method not allowed"}
        assert response.headers["allow"] == "POST"


@pytest.mark.parametrize("depth", [129, 940, 990])
async def test_bodies_nested_deeper_than_128_levels_are_refused(
    api: ContractApi, depth: int
) -> None:
    body = b'{"type":"t","taskIdentifier":"x","triggerConfig":{"basePayload":{}},"metadata":'
    deep = b'{"a":' * depth + b"1" + b"}" * depth
    response = await api.request(
        "POST", "/api/v1/sessions", content=body + deep + b"}", headers=JSON
    )
    assert response.status_code in (400, 422)
    assert await nothing_stored(api)
    shallow = b'{"a":' * 100 + b"1" + b"}" * 100
    accepted = await api.request(
        "POST", "/api/v1/sessions", content=body + shallow + b"}", headers=JSON
    )
    assert accepted.status_code == 201
