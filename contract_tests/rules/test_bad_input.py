"""Bad input: a clear 4xx in the API's error shape, never a 5xx, never a change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from ..harness.client import ContractApi
from ..harness.expect import invalid, too_large

pytestmark = pytest.mark.anyio
JSON = {"content-type": "application/json"}


async def nothing_stored(api: ContractApi) -> bool:
    data: list[Any] = (await api.list()).json()["data"]
    return not data


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"{bad json", "Invalid JSON"),
        (b'{"type": "x",}', "Invalid JSON"),
        (b'{"type": NaN}', "Invalid JSON"),
        (b"[" * 50_000 + b"]" * 50_000, "Request body too large"),
    ],
)
async def test_unreadable_bodies_are_refused(api: ContractApi, content: bytes, error: str) -> None:
    response = await api.request("POST", "/api/v1/sessions", content=content, headers=JSON)
    assert 400 <= response.status_code < 500
    assert response.json()["error"] == error
    assert await nothing_stored(api)


async def test_an_empty_create_body_is_refused(api: ContractApi) -> None:
    response = await api.request("POST", "/api/v1/sessions", content=b"", headers=JSON)
    assert response.status_code == 400
    assert response.json() == {"error": "Request body is empty"}


@pytest.mark.parametrize(("content", "received"), [(b"[1]", "array"), (b'"text"', "string")])
async def test_json_that_is_not_an_object_is_refused(
    api: ContractApi, content: bytes, received: str
) -> None:
    response = await api.request("POST", "/api/v1/sessions", content=content, headers=JSON)
    invalid(api, response, f"Expected object, received {received}")
    assert await nothing_stored(api)


@pytest.mark.parametrize("content", [b"null", b"false", b"0", b'""'])
async def test_a_falsy_json_body(api: ContractApi, content: bytes) -> None:
    response = await api.request("POST", "/api/v1/sessions", content=content, headers=JSON)
    body = response.json()
    api.observe(
        "falsy_json_invalid",
        documented=response.status_code == 422 and "Expected object" in body["error"],
        deployed=response.status_code == 400 and body == {"error": "Invalid JSON"},
    )
    assert await nothing_stored(api)


@pytest.mark.writes
async def test_a_body_with_a_non_json_content_type(api: ContractApi) -> None:
    body = api.body()
    response = await api.request(
        "POST", "/api/v1/sessions", json=body, headers={"content-type": "text/plain"}
    )
    api.observe(
        "content_type_checked",
        documented=response.status_code == 415 and "error" in response.json(),
        deployed=response.status_code == 201,
    )


async def test_a_create_body_over_32_kb_is_refused(api: ContractApi) -> None:
    response = await api.request(
        "POST", "/api/v1/sessions", json=api.body(metadata={"blob": "x" * 33_000})
    )
    too_large(api, response)
    assert await nothing_stored(api)


@pytest.mark.writes
async def test_an_update_over_32_kb_is_refused_and_changes_nothing(api: ContractApi) -> None:
    external_id = api.ext()
    await api.created_session(externalId=external_id, metadata={"v": 1})
    too_large(api, await api.update(external_id, {"metadata": {"blob": "x" * 33_000}}))
    assert (await api.retrieve(external_id)).json()["metadata"] == {"v": 1}


@pytest.mark.writes
async def test_a_body_of_exactly_32_kb_is_accepted(api: ContractApi) -> None:
    encoded = bytearray(
        b'{"type":"'
        + api.naming.type.encode()
        + b'","taskIdentifier":"'
        + api.task_identifier.encode()
        + b'","triggerConfig":{"basePayload":{}},"metadata":{"b":""}}'
    )
    encoded[-3:-3] = b"x" * (32 * 1024 - len(encoded))
    assert len(encoded) == 32 * 1024
    response = await api.request("POST", "/api/v1/sessions", content=bytes(encoded), headers=JSON)
    assert response.status_code == 201


@pytest.mark.writes
async def test_a_streamed_body_is_measured_as_it_arrives(api: ContractApi) -> None:
    head = (
        b'{"type":"'
        + api.naming.type.encode()
        + b'","taskIdentifier":"'
        + api.task_identifier.encode()
        + b'","triggerConfig":{"basePayload":{}},"metadata":{"b":"'
    )

    async def chunks(kilobytes: int) -> AsyncIterator[bytes]:
        yield head
        for _ in range(kilobytes):
            yield b"x" * 1024
        yield b'"}}'

    large = await api.request("POST", "/api/v1/sessions", content=chunks(40), headers=JSON)
    too_large(api, large)
    small = await api.request("POST", "/api/v1/sessions", content=chunks(2), headers=JSON)
    api.observe(
        "body_size_needs_content_length",
        documented=small.status_code == 201,
        deployed=small.status_code == 413,
    )


@pytest.mark.parametrize("path", ["%ff%fe", "%c3%28", "%ed%a0%80"])
async def test_paths_that_are_not_utf_8_get_a_4xx(api: ContractApi, path: str) -> None:
    for method, suffix in (("GET", ""), ("PATCH", ""), ("POST", "/close")):
        response = await api.request(method, f"/api/v1/sessions/{path}{suffix}", json={})
        assert 400 <= response.status_code < 500, (method, response.text)
        assert "error" in response.json()


async def test_odd_but_valid_paths_are_just_unknown_sessions(api: ContractApi) -> None:
    for ref in ("%", "%25zz", "x" * 5_000, "%00", "session_", "session_%2F.."):
        response = await api.request("GET", f"/api/v1/sessions/{ref}")
        assert response.status_code == 404, ref


@pytest.mark.writes
async def test_wrongly_typed_fields_change_nothing(api: ContractApi) -> None:
    external_id = api.ext()
    await api.created_session(externalId=external_id, tags=["t"])
    bodies: list[Any] = [{"tags": [1]}, {"metadata": "x"}, {"externalId": 5}, [], "x"]
    for body in bodies:
        invalid(api, await api.update(external_id, body))
    row = (await api.retrieve(external_id)).json()
    assert row["tags"] == ["t"] and row["metadata"] is None


async def test_huge_query_strings_get_a_query_error(api: ContractApi) -> None:
    response = await api.list({"filter[tags]": "x" * 20_000, "page[size]": "9" * 500})
    assert response.status_code == 400
    assert response.json()["details"][0]["path"] == ["page[size]"]


@pytest.mark.parametrize("depth", [940, 5000])
async def test_deeply_nested_bodies_get_no_server_error(api: ContractApi, depth: int) -> None:
    metadata = b'{"a":' * depth + b"1" + b"}" * depth
    body = b'{"type":"t","taskIdentifier":"x","triggerConfig":{"basePayload":[]},"metadata":'
    response = await api.request(
        "POST", "/api/v1/sessions", content=body + metadata + b"}", headers=JSON
    )
    assert 400 <= response.status_code < 500
    assert await nothing_stored(api)


async def test_a_trailing_slash_and_the_headers_on_every_answer(api: ContractApi) -> None:
    moved = await api.request("GET", "/api/v1/sessions/", params={"page[size]": "1"})
    listed = await api.list()
    hsts = listed.headers.get("strict-transport-security")
    api.observe(
        "deployed_edge",
        documented=moved.status_code == 307 and hsts is None,
        deployed=moved.status_code == 301
        and moved.headers["location"].endswith("/api/v1/sessions?page%5Bsize%5D=1")
        and hsts == "max-age=3153600000"
        and moved.headers.get("strict-transport-security") == hsts,
    )


async def test_a_get_on_a_route_that_only_takes_post(api: ContractApi) -> None:
    headers = {"Origin": "http://app.example"}
    closing = await api.request("GET", f"/api/v1/sessions/{api.ext('x')}/close", headers=headers)
    assert closing.status_code == 405
    cors = any(name.startswith("access-control-") for name in closing.headers)
    api.observe(
        "action_only_loader_405",
        documented=closing.content == b'{"error":"Method not allowed"}'
        and closing.headers.get("allow") == "POST"
        and cors,
        deployed=closing.content == b"" and "allow" not in closing.headers and not cors,
    )
