"""``trigger-mock proxy`` as a user runs it: a served proxy in front of a served fake.
What it forwards, what it adds, what it refuses under ``--strict``, its report file and
summary, streams passed on as they come, and an upstream that is not there."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server.testing import MockProxy, MockServer, free_port, new_secret_key

pytestmark = pytest.mark.subprocess

HOP_BY_HOP = {"transfer-encoding", "connection", "keep-alive"}


def body(external_id: str, **extra: object) -> dict[str, object]:
    return {
        "type": "chat.agent",
        "externalId": external_id,
        "taskIdentifier": "t",
        "triggerConfig": {"basePayload": {}},
        **extra,
    }


@pytest.fixture(scope="module")
def fake() -> Iterator[MockServer]:
    with MockServer() as server:
        yield server


@pytest.fixture(scope="module")
def proxy(fake: MockServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockProxy]:
    report = tmp_path_factory.mktemp("proxy") / "violations.jsonl"
    with MockProxy(fake.base_url, "--report", str(report)) as served:
        served.report = report  # type: ignore[attr-defined]
        yield served


@pytest.fixture
def key(proxy: MockProxy, fake: MockServer) -> str:
    fake.call("POST", "/_mock/reset")
    proxy.clear_violations()
    return new_secret_key()


def journaled(fake: MockServer, number: int = 1) -> dict[str, Any]:
    """The fake's own record of its newest-but-``number - 1`` exchange, in full."""
    _, listing = fake.call("GET", f"/_mock/requests?limit={number}")
    _, entry = fake.call("GET", f"/_mock/requests/{listing['requests'][-1]['number']}")
    return entry  # type: ignore[no-any-return]


def test_answers_come_back_as_the_upstream_sent_them(
    proxy: MockProxy, fake: MockServer, key: str
) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=proxy.base_url, headers=auth) as client:
        created = client.post("/api/v1/sessions", json=body("a/b"))
        retrieved = client.get("/api/v1/sessions/a%2Fb", params={"x": "1 2"})
    assert created.status_code == 201
    assert retrieved.status_code == 200, retrieved.text
    upstream = journaled(fake)
    # The path went on percent-encoded as sent, the query as it was.
    assert upstream["path"] == "/api/v1/sessions/a%2Fb"
    assert upstream["query"] == "x=1+2"
    answer = upstream["response"]
    assert retrieved.content.decode() == answer["body"]
    sent = [(k.lower(), v) for k, v in answer["headers"] if k.lower() not in HOP_BY_HOP]
    got = [
        (k.decode().lower(), v.decode())
        for k, v in retrieved.headers.raw
        if k.decode().lower() not in HOP_BY_HOP
    ]
    # The fake's journal holds its app's headers; its server adds Date, which comes back
    # once (the proxy's own server adds none).
    assert [h for h in got if h[0] != "date"] == [*sent, ("x-trigger-mock-violations", "0")]
    assert len(retrieved.headers.get_list("date")) == 1


def test_the_proxy_journal_counts_violations_per_exchange(proxy: MockProxy, key: str) -> None:
    with httpx.Client(base_url=proxy.base_url) as client:
        client.get("/api/v1/sessions", headers={"Authorization": f"Bearer {key}"})
        listing = client.get("/_mock/requests", params={"limit": 1}).json()
    [entry] = listing["requests"]
    assert entry["operation"] == "list_sessions_v1"
    assert entry["violations"] == 0


def test_a_bad_request_the_upstream_refuses_is_counted_not_a_violation(
    proxy: MockProxy, key: str
) -> None:
    with httpx.Client(base_url=proxy.base_url) as client:
        refused = client.post(
            "/api/v1/sessions",
            json={"type": 3},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert refused.status_code == 422
    assert refused.headers["x-trigger-mock-violations"] == "0"
    assert proxy.violations() == []
    assert proxy.summary()["refusedRequests"] == 1


def test_the_control_plane_of_the_upstream_is_reached_through_the_proxy(
    proxy: MockProxy, fake: MockServer
) -> None:
    with httpx.Client(base_url=proxy.base_url) as client:
        clock = client.get("/_mock/clock")
        health = client.get("/_mock/health").json()
    assert clock.status_code == 200 and "now" in clock.json()
    assert "x-trigger-mock-violations" not in clock.headers
    assert health["mode"] == "proxy" and health["upstream"] == fake.base_url


def test_an_event_stream_is_passed_on_as_it_comes(
    proxy: MockProxy, fake: MockServer, key: str
) -> None:
    """The first record reaches the client while the stream is still open."""
    auth = {"Authorization": f"Bearer {key}"}
    fake.call("POST", "/api/v1/sessions", body("live"), token=key)

    def append_soon() -> None:
        time.sleep(0.5)
        fake.call(
            "POST",
            "/realtime/v1/sessions/live/out/append",
            {"chunk": "hello"},
            token=key,
        )

    threading.Thread(target=append_soon).start()
    started = time.monotonic()
    with (
        httpx.Client(base_url=proxy.base_url, headers=auth, timeout=30) as client,
        client.stream(
            "GET", "/realtime/v1/sessions/live/out", headers={"Timeout-Seconds": "20"}
        ) as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        seen = ""
        for text in stream.iter_text():
            seen += text
            if "hello" in seen:
                break
        waited = time.monotonic() - started
    assert "event: batch" in seen
    assert waited < 15, "the record came only when the stream ended"


def test_strict_refuses_a_request_that_breaks_the_contract_without_forwarding_it(
    fake: MockServer,
) -> None:
    key = new_secret_key()
    with MockProxy(fake.base_url, "--strict") as strict:
        _, before = fake.call("GET", "/_mock/requests?limit=1")
        with httpx.Client(base_url=strict.base_url) as client:
            refused = client.post(
                "/api/v1/sessions",
                json={"type": "chat.agent"},
                headers={"Authorization": f"Bearer {key}"},
            )
            passed = client.post(
                "/api/v1/sessions", json=body("ok"), headers={"Authorization": f"Bearer {key}"}
            )
        _, after = fake.call("GET", "/_mock/requests?limit=5")
        violations = strict.violations()
    assert refused.status_code == 422
    assert refused.json()["violations"][0]["rule"] == "request.schema"
    assert refused.headers["x-trigger-mock-violations"] == str(len(violations))
    assert passed.status_code == 201
    # Only the good create reached the fake.
    assert after["total"] - before["total"] == 1
    assert {v["direction"] for v in violations} == {"request"}
    assert violations[0]["operation"] == "create_session_v1"


def test_an_upstream_that_does_not_answer_is_a_502_in_the_api_shape() -> None:
    with MockProxy(f"http://127.0.0.1:{free_port()}") as lonely:
        with httpx.Client(base_url=lonely.base_url) as client:
            answer = client.get("/api/v1/sessions", headers={"Authorization": "Bearer x"})
        summary = lonely.summary()
    assert answer.status_code == 502
    assert "no answer from" in answer.json()["error"]
    assert answer.headers["x-trigger-mock-proxy-error"] == "upstream"
    assert summary["leftAlone"] == {"upstream-error": 1}
    assert summary["violations"] == 0


def test_report_file_and_summary_on_stop(fake: MockServer, tmp_path: Path) -> None:
    report = tmp_path / "found.jsonl"
    served = MockProxy(fake.base_url, "--report", str(report), "--expect", "deployed").start()
    key = new_secret_key()
    with httpx.Client(base_url=served.base_url) as client:
        # The documented fake's 404 for an unknown session, where deployed says "Not found".
        client.get("/api/v1/sessions/missing", headers={"Authorization": f"Bearer {key}"})
    assert served.stop() == 0
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    # Two rows answered as documented: the 404's words, and no deployed edge headers.
    assert [line["rule"] for line in lines] == ["fidelity", "fidelity"]
    rows = {line["message"].split(":")[0] for line in lines}
    assert rows == {"retrieve_not_found_deployed_style", "deployed_edge"}
    assert {(line["direction"], line["status"]) for line in lines} == {("response", 404)}
    output = served.output()
    assert "1 exchange(s) checked, 2 violation(s) in 1" in output
    assert "fidelity" in output


def test_the_control_plane_needs_the_admin_token_when_given(fake: MockServer) -> None:
    with MockProxy(fake.base_url, admin_token="sesame") as guarded:
        with httpx.Client(base_url=guarded.base_url) as client:
            assert client.get("/_mock/violations").status_code == 401
            ok = client.get("/_mock/violations", headers={"Authorization": "Bearer sesame"})
        assert ok.status_code == 200
        assert guarded.violations() == []


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        ([], "--upstream"),
        (["--upstream", "ftp://x"], "--upstream"),
        (["--upstream", "http://x", "--expect", "sometimes"], "--expect"),
    ],
)
def test_bad_options_are_usage_errors(args: list[str], complaint: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mock_server", "proxy", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": ""},
    )
    assert result.returncode == 2
    assert complaint in result.stderr


def test_requests_go_on_with_the_clients_headers_only(
    proxy: MockProxy, fake: MockServer, key: str
) -> None:
    """No header of the proxy's own HTTP client (no Accept-Encoding the client did not
    send, no User-Agent), and the hop-by-hop ones dropped."""
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as conn:
        conn.sendall(
            b"GET /api/v1/sessions HTTP/1.1\r\nHost: example.test\r\n"
            b"Authorization: Bearer " + key.encode() + b"\r\n"
            b"X-Custom: one\r\nX-Custom: two\r\nConnection: close\r\n\r\n"
        )
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200")
    sent = [(k.lower(), v) for k, v in journaled(fake)["request"]["headers"]]
    # (The journal shows a credential shortened.)
    assert [name for name, _ in sent] == ["host", "authorization", "x-custom", "x-custom"]
    assert sent[0][1] == f"127.0.0.1:{fake.port}"
    assert key.startswith(sent[1][1].removeprefix("Bearer ").rstrip("…"))
    assert [value for name, value in sent if name == "x-custom"] == ["one", "two"]


def test_a_chunked_request_body_streams_to_the_upstream(
    proxy: MockProxy, fake: MockServer, key: str
) -> None:
    """A body without a length (a streaming writer's) goes on as it comes, chunked."""
    fake.call("POST", "/api/v1/sessions", body("chunked"), token=key)

    def pieces() -> Iterator[bytes]:
        yield b'{"chunk":'
        yield b' "streamed"}'

    with httpx.Client(base_url=proxy.base_url) as client:
        appended = client.post(
            "/realtime/v1/sessions/chunked/out/append",
            content=pieces(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
    assert appended.status_code == 200, appended.text
    assert appended.headers["x-trigger-mock-violations"] == "0"
    upstream = journaled(fake)
    names = [name.lower() for name, _ in upstream["request"]["headers"]]
    assert "transfer-encoding" in names and "content-length" not in names
    _, read = fake.call("GET", "/realtime/v1/sessions/chunked/out/records", token=key)
    assert [record["data"] for record in read["records"]] == ['{"chunk": "streamed"}']
