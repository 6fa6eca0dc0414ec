"""The request journal in full, as the dashboard reads it: entries named by operation and
polled forward, one exchange's headers and bodies (kept up to the cap), a cURL command and
HAR. (That the cURL command repeats the request is tests/http/test_journal_curl.py.)"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from mock_server.app import create_app
from mock_server.core.settings import Settings
from mock_server.http.journal import BODY_CAP, RequestJournal
from tests.asgi.test_control_plane_browse import create, key_of, write
from tests.support import asgi_client, new_key

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(Settings(agent="off")), new_key()) as opened:
        yield opened


async def journal(client: httpx.AsyncClient, path: str = "", **params: Any) -> Any:
    response = await client.get(f"/_mock/requests{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_entries_name_their_operation_and_after_polls_forward(
    client: httpx.AsyncClient,
) -> None:
    await create(client, "ops")
    await client.get("/api/v1/sessions/ops")
    await client.get("/api/v1/nothing-here")
    listed = (await journal(client))["requests"]
    assert [e["operation"] for e in listed] == [None, "retrieve_session_v1", "create_session_v1"]
    only = (await journal(client, operation="retrieve_session_v1"))["requests"]
    assert [e["number"] for e in only] == [2]
    forward = (await journal(client, after=1))["requests"]
    assert [e["number"] for e in forward] == [2, 3]  # oldest first
    assert (await journal(client, after=3))["requests"] == []
    assert "request" not in listed[0]  # the list stays light


async def test_an_entry_in_full(client: httpx.AsyncClient) -> None:
    created = await create(client, "detail", metadata={"note": "é"})
    number = (await journal(client))["requests"][0]["number"]
    entry = await journal(client, f"/{number}")
    assert entry["url"] == "http://fake/api/v1/sessions"
    assert entry["operation"] == "create_session_v1"
    request, response = entry["request"], entry["response"]
    headers = dict(request["headers"])
    assert headers["authorization"] == f"Bearer {key_of(client)}"[:12] + "…"
    assert json.loads(request["body"])["metadata"] == {"note": "é"}
    assert (request["bodyEncoding"], request["truncated"]) == ("utf-8", False)
    assert response["status"] == 201
    assert dict(response["headers"])["content-type"].startswith("application/json")
    assert json.loads(response["body"])["id"] == created["id"]
    assert (await client.get("/_mock/requests/999")).status_code == 404


async def test_bodies_are_kept_up_to_the_cap(client: httpx.AsyncClient) -> None:
    for n in range(3):  # three rows of 30 KiB: a list page past the cap
        await create(client, f"big-{n}", metadata={"blob": "x" * 30_000})
    await client.post("/realtime/v1/sessions/big-0/in/append", content="y" * (BODY_CAP + 5000))
    await client.get("/api/v1/sessions")
    appended, listed = await journal(client, "/4"), await journal(client, "/5")
    assert appended["requestBytes"] == BODY_CAP + 5000 and appended["request"]["truncated"]
    assert appended["request"]["body"] == "y" * BODY_CAP
    assert not appended["response"]["truncated"]
    assert listed["responseBytes"] > BODY_CAP and listed["response"]["truncated"]
    assert len(listed["response"]["body"]) == BODY_CAP


async def test_an_event_stream_keeps_its_first_bytes(client: httpx.AsyncClient) -> None:
    await create(client, "sse")
    chunks = [{"data": "z" * 10_000} for _ in range(10)]
    await write(client, "sse", "out", records=chunks)
    streamed = await client.get("/realtime/v1/sessions/sse/out", headers={"Timeout-Seconds": "1"})
    assert streamed.status_code == 200 and len(streamed.content) > BODY_CAP
    response = (await journal(client, "/2"))["response"]
    assert dict(response["headers"])["content-type"].startswith("text/event-stream")
    assert response["truncated"] and len(response["body"]) == BODY_CAP
    assert response["body"] == streamed.text[:BODY_CAP]


async def test_binary_bodies_come_as_base64(client: httpx.AsyncClient) -> None:
    await client.post(
        "/realtime/v1/sessions/bin/in/append",
        content=b"\xff\x00\xfe",
        headers={"content-type": "application/octet-stream"},
    )
    request = (await journal(client, "/1"))["request"]
    assert (request["body"], request["bodyEncoding"]) == ("/wD+", "base64")


def test_an_entry_that_dropped_out_is_gone() -> None:
    kept = RequestJournal(capacity=2)
    for n in range(3):
        kept.record(
            at_ms=n, method="GET", path="/", query="", status=200, latency_ms=1,
            request_headers=[], request_bytes=0, response_bytes=0,
        )  # fmt: skip
    assert kept.get(1) is None
    assert [kept.get(n).number for n in (2, 3)] == [2, 3]  # type: ignore[union-attr]
    assert kept.get(4) is None


async def test_the_curl_command_carries_the_real_credential(client: httpx.AsyncClient) -> None:
    await client.get("/api/v1/sessions", params={"page[size]": "3", "filter[status]": "ACTIVE"})
    found = await journal(client, "/1/curl")
    assert found["truncated"] is False
    command = found["curl"]
    assert command.startswith("curl --globoff --path-as-is -X GET ")
    assert "'http://fake/api/v1/sessions?page%5Bsize%5D=3&filter%5Bstatus%5D=ACTIVE'" in command
    assert f"-H 'authorization: Bearer {key_of(client)}'" in command
    assert "--data-binary" not in command and "host:" not in command
    assert (await client.get("/_mock/requests/7/curl")).status_code == 404


async def test_har_export(client: httpx.AsyncClient) -> None:
    await create(client, "har")
    await client.get("/api/v1/sessions/har")
    response = await client.get("/_mock/requests/har")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    log = json.loads(response.text)["log"]
    assert log["version"] == "1.2" and log["creator"]["name"] == "trigger-mock"
    first, second = log["entries"]  # oldest first
    for entry in log["entries"]:
        assert {"startedDateTime", "time", "request", "response", "cache", "timings"} <= set(entry)
        assert {"method", "url", "httpVersion", "headers", "queryString", "cookies"} <= set(
            entry["request"]
        )
        assert entry["request"]["headersSize"] == -1
        assert {"status", "statusText", "httpVersion", "headers", "content", "redirectURL"} <= set(
            entry["response"]
        )
        assert {"size", "mimeType", "text"} <= set(entry["response"]["content"])
        assert entry["timings"]["send"] == 0 and entry["timings"]["wait"] >= 0
        auth = next(h for h in entry["request"]["headers"] if h["name"] == "authorization")
        assert auth["value"].endswith("…") and key_of(client) not in auth["value"]
    assert first["request"]["method"] == "POST" and first["_operation"] == "create_session_v1"
    assert json.loads(first["request"]["postData"]["text"])["externalId"] == "har"
    assert first["response"]["status"] == 201 and first["response"]["statusText"] == "Created"
    assert "postData" not in second["request"]
    assert json.loads(second["response"]["content"]["text"])["externalId"] == "har"
    filtered = await journal(client, "/har", method="GET")
    assert [e["request"]["method"] for e in filtered["log"]["entries"]] == ["GET"]
