"""Bad input: always a clear 4xx in the API's error shape, never a 5xx, never a change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support import Api, session_body

pytestmark = pytest.mark.anyio


async def nothing_stored(api: Api) -> bool:
    data: list[Any] = (await api.list()).json()["data"]
    return not data


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"{bad json", "Invalid JSON"),
        (b'{"type": "x",}', "Invalid JSON"),
        (b'{"type": NaN}', "Invalid JSON"),
        (b"\xff\xfe{}", "Invalid JSON"),
        (b"[" * 50_000 + b"]" * 50_000, "Request body too large"),
        (b"[" * 10_000 + b"]" * 10_000, "Invalid JSON"),
        (b'{"metadata":{"x":1e400}}', "Invalid JSON"),
    ],
)
async def test_unreadable_bodies_are_refused(api: Api, content: bytes, error: str) -> None:
    response = await api.request(
        "POST", "/api/v1/sessions", content=content, headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    assert response.json()["error"] == error
    assert await nothing_stored(api)


async def test_an_empty_create_body_is_refused(api: Api) -> None:
    response = await api.request("POST", "/api/v1/sessions", content=b"")
    assert response.status_code == 400
    assert response.json() == {"error": "Request body is empty"}


@pytest.mark.parametrize(
    ("content", "received"),
    [(b"[]", "array"), (b'"text"', "string"), (b"null", "null"), (b"42", "number")],
)
async def test_json_that_is_not_an_object_is_refused(
    api: Api, content: bytes, received: str
) -> None:
    response = await api.request(
        "POST", "/api/v1/sessions", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == (400 if api.deployed else 422)
    assert f"Expected object, received {received}" in response.json()["error"]
    assert await nothing_stored(api)


async def test_a_non_json_content_type(api: Api) -> None:
    body = b'{"type":"t","taskIdentifier":"x","triggerConfig":{"basePayload":{}}}'
    response = await api.request(
        "POST", "/api/v1/sessions", content=body, headers={"content-type": "text/plain"}
    )
    if api.deployed:
        assert response.status_code == 201
    else:
        assert response.status_code == 415
        assert response.json() == {"error": "Request bodies must be sent as application/json"}
        assert await nothing_stored(api)


async def test_a_body_over_32_kb_is_refused(api: Api) -> None:
    body = session_body(metadata={"blob": "x" * 33_000})
    response = await api.request("POST", "/api/v1/sessions", json=body)
    assert response.status_code == (413 if api.deployed else 422)
    assert response.json()["error"] == "Request body too large"
    assert await nothing_stored(api)


async def test_an_update_over_32_kb_is_refused_and_changes_nothing(api: Api) -> None:
    await api.created(externalId="big", metadata={"v": 1})
    response = await api.update("big", {"metadata": {"blob": "x" * 33_000}})
    assert response.status_code == (413 if api.deployed else 422)
    assert response.json()["error"] == "Request body too large"
    assert (await api.retrieve("big")).json()["metadata"] == {"v": 1}


async def test_a_body_of_exactly_32_kb_is_accepted(api: Api) -> None:
    body = session_body(metadata={"blob": ""})
    encoded = bytearray(
        b'{"type":"chat.agent","taskIdentifier":"my-chat",'
        b'"triggerConfig":{"basePayload":{}},"metadata":{"blob":""}}'
    )
    encoded[-3:-3] = b"x" * (32 * 1024 - len(encoded))
    assert len(encoded) == 32 * 1024 and body
    response = await api.request(
        "POST",
        "/api/v1/sessions",
        content=bytes(encoded),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 201


async def test_a_streamed_body_is_measured_as_it_arrives(api: Api) -> None:
    async def chunks(total: int) -> AsyncIterator[bytes]:
        yield b'{"type":"t","taskIdentifier":"x","triggerConfig":{"basePayload":{}},'
        yield b'"metadata":{"b":"'
        for _ in range(total):
            yield b"x" * 1024
        yield b'"}}'

    small = await api.request(
        "POST", "/api/v1/sessions", content=chunks(2), headers={"content-type": "application/json"}
    )
    large = await api.request(
        "POST", "/api/v1/sessions", content=chunks(40), headers={"content-type": "application/json"}
    )
    assert large.status_code == (413 if api.deployed else 422)
    if api.deployed:
        assert small.status_code == 413, "no Content-Length: the deployed server refuses it"
    else:
        assert small.status_code == 201
    assert len((await api.list()).json()["data"]) == (0 if api.deployed else 1)


@pytest.mark.parametrize("path", ["%ff%fe", "%c3%28", "%ed%a0%80"])
async def test_paths_that_are_not_utf_8_get_400(api: Api, path: str) -> None:
    for method, suffix in (("GET", ""), ("PATCH", ""), ("POST", "/close")):
        response = await api.request(method, f"/api/v1/sessions/{path}{suffix}", json={})
        assert response.status_code == 400
        assert response.json()["error"] == "Params Error"


async def test_odd_but_valid_paths_are_just_unknown_sessions(api: Api) -> None:
    for ref in ("%", "%zz", "x" * 10_000, "%00", "session_", "session_%2F.."):
        response = await api.request("GET", f"/api/v1/sessions/{ref}")
        assert response.status_code == 404, ref


async def test_unknown_routes_and_methods(api: Api) -> None:
    response = await api.request("GET", "/api/v1/nothing")
    assert response.status_code == 404 and response.json() == {"error": "Not found"}
    response = await api.request("DELETE", "/api/v1/sessions/x")
    assert response.status_code == 405 and response.json() == {"error": "Method not allowed"}
    response = await api.request("GET", "/api/v1/sessions/x/close")
    assert response.status_code == 405


async def test_wrongly_typed_fields_change_nothing(api: Api) -> None:
    await api.created(externalId="keep", tags=["t"])
    bodies: list[Any] = [{"tags": [1]}, {"metadata": "x"}, {"externalId": 5}, [], "x"]
    for body in bodies:
        response = await api.update("keep", body)
        assert response.status_code in (400, 422), body
    row = (await api.retrieve("keep")).json()
    assert row["tags"] == ["t"] and row["metadata"] is None


async def test_huge_query_strings_are_handled(api: Api) -> None:
    response = await api.list({"filter[tags]": "x" * 20_000, "page[size]": "9" * 500})
    assert response.status_code == 400
    assert response.json()["details"][0]["path"] == ["page[size]"]


@pytest.mark.parametrize("depth", [129, 940, 990])
async def test_deeply_nested_bodies_are_refused_not_crashed_on(api: Api, depth: int) -> None:
    metadata = b'{"a":' * depth + b"1" + b"}" * depth
    body = b'{"type":"t","taskIdentifier":"x","triggerConfig":{"basePayload":{}},"metadata":'
    response = await api.request(
        "POST",
        "/api/v1/sessions",
        content=body + metadata + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code in (400, 422)
    assert await nothing_stored(api)
    shallow = b'{"a":' * 100 + b"1" + b"}" * 100
    accepted = await api.request(
        "POST",
        "/api/v1/sessions",
        content=body + shallow + b"}",
        headers={"content-type": "application/json"},
    )
    assert accepted.status_code == 201
