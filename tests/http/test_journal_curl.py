"""The journal's cURL commands, run with curl against a served fake: each one sends the
journaled request again, exactly (method, URL, headers, body). And the fixture's calls for
the journal and a session's channels."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mock_server.http.exchanges import NOT_REPEATED
from mock_server.testing import MockServer, TriggerMock
from tests.support import session_body

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")


@pytest.fixture(scope="module")
def served() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


@pytest.fixture
def mock(served: MockServer) -> TriggerMock:
    handle = served.handle()
    handle.reset()
    return handle


def repeated(detail: dict[str, Any]) -> dict[str, Any]:
    """What a repeat must reproduce of a journaled request."""
    request = detail["request"]
    headers = sorted(
        (name.lower(), value)
        for name, value in request["headers"]
        if name.lower().encode() not in NOT_REPEATED
    )
    return {
        "method": detail["method"],
        "url": detail["url"],
        "environment": detail["environment"],
        "headers": headers,
        "body": (request["body"], request["bodyEncoding"]),
    }


def run_again(mock: TriggerMock, number: int) -> dict[str, Any]:
    """Run entry ``number``'s cURL command; the entry the repeat made."""
    command = mock.curl(number)
    done = subprocess.run(["sh", "-c", command], capture_output=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr.decode()
    newest = mock.requests(limit=1)[0]["number"]
    assert newest > number
    return mock.request_detail(newest)


@pytest.mark.parametrize(
    ("method", "path", "body", "headers"),
    [
        ("POST", "/api/v1/sessions", None, {"X-Trace": 'it\'s "quoted" $HOME `x`'}),
        ("GET", "/api/v1/sessions?page[size]=2&filter[status]=ACTIVE&filter[tags]=a%2Cb", None, {}),
        ("POST", "/realtime/v1/sessions/chat%2F1/in/append", b"line one\nit's line 'two'", {}),
        ("POST", "/realtime/v1/sessions/curl-chat/in/append", b"@not-a-file", {}),
        (
            "POST",
            "/realtime/v1/sessions/curl-chat/in/append",
            b"\x00\xff binary \x01",
            {"Content-Type": "application/octet-stream"},
        ),
        ("GET", "/api/v1/sessions/curl-chat", None, {"User-Agent": "", "X-Empty": ""}),
    ],
)
def test_a_curl_command_repeats_the_request_exactly(
    mock: TriggerMock,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
) -> None:
    with mock.client() as client:
        created = client.post("/api/v1/sessions", json=session_body(externalId="curl-chat"))
        assert created.status_code == 201
        if path == "/api/v1/sessions" and method == "POST":
            sent = client.post(path, json=session_body(externalId="curl-new"), headers=headers)
        else:
            sent = client.request(method, path, content=body, headers=headers)
        assert sent.status_code < 500
    number = mock.requests(limit=1)[0]["number"]
    original = mock.request_detail(number)
    again = run_again(mock, number)
    assert repeated(again) == repeated(original)


def test_the_fixture_reads_channels_closes_and_exports(mock: TriggerMock) -> None:
    status, created = mock.api("POST", "/api/v1/sessions", session_body(externalId="fx"))
    assert status == 201
    mock.write_out("fx", records=[{"data": {"n": 1}}, {"body": "raw"}])
    out = mock.records("fx")
    assert [r["seqNum"] for r in out] == [0, 1]
    assert out[0]["data"] == {"n": 1} and "data" not in out[1]
    assert mock.records("fx", after=0) == out[1:]

    row = mock.close_session(created["id"], reason="done")
    assert (row["status"], row["closedReason"]) == ("CLOSED", "done")
    (closing,) = mock.records("fx", io="in")
    assert ["trigger-control", "session-closed"] in closing["headers"]

    first = mock.requests()[-1]
    assert first["operation"] == "create_session_v1"
    detail = mock.request_detail(first["number"])
    assert detail["response"]["status"] == 201
    assert mock.secret_key not in str(detail["request"]["headers"])
    assert mock.secret_key in mock.curl(first["number"])
    har = mock.har()
    assert har["log"]["version"] == "1.2"
    assert [e["_number"] for e in har["log"]["entries"]] == [first["number"]]


def test_the_curl_of_a_served_request_uses_the_host_it_was_sent_to(mock: TriggerMock) -> None:
    with httpx.Client(base_url=mock.base_url.replace("127.0.0.1", "localhost")) as client:
        client.get("/api/v1/sessions", headers={"Authorization": f"Bearer {mock.secret_key}"})
    number = mock.requests(limit=1)[0]["number"]
    assert f"'http://localhost:{mock.server.port}/api/v1/sessions'" in mock.curl(number)
