"""Faults a served fake does to the connection itself (resets, closes, broken bodies,
hangs, slow and cut answers), ``--faults FILE``, ``--rate-limit``, and the fixture's
fault methods, seen by real HTTP clients over a socket."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from mock_server.testing import MockServer, TriggerMock
from tests.support import refused_start, session_body


@pytest.fixture(scope="module", params=["documented", "deployed"])
def served(request: pytest.FixtureRequest) -> Iterator[MockServer]:
    with MockServer("--fidelity", request.param) as server:
        yield server


@pytest.fixture
def mock(served: MockServer) -> TriggerMock:
    handle = served.handle()
    handle.reset()
    return handle


def raw_exchange(port: int, request: bytes, timeout: float = 5.0) -> tuple[bytes, str]:
    """What the server sent before closing, and how it closed (``fin`` or ``reset``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return received, "reset"
            if not chunk:
                return received, "fin"
            received += chunk


def get_request(mock: TriggerMock, path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {mock.secret_key}\r\n\r\n"
    ).encode()


def test_reset_empty_and_malformed_drops_on_the_wire(mock: TriggerMock) -> None:
    port = mock.server.port
    mock.fault(drop="reset")
    assert raw_exchange(port, get_request(mock, "/api/v1/sessions/x")) == (b"", "reset")
    mock.fault(drop="empty")
    assert raw_exchange(port, get_request(mock, "/api/v1/sessions/x")) == (b"", "fin")
    mock.fault(drop="malformed")
    sent, how = raw_exchange(port, get_request(mock, "/api/v1/sessions/x"))
    assert how == "fin" and sent.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"transfer-encoding: chunked" in sent and sent.endswith(b"zz\r\n")
    with httpx.Client(base_url=mock.base_url) as client:
        mock.fault(drop="malformed")
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/api/v1/sessions/x", headers={"Authorization": f"Bearer {mock.secret_key}"})
    # the next request is answered normally
    status, _ = mock.api("GET", "/api/v1/sessions/x")
    assert status == 404
    journal = mock.requests()
    assert [e["fault"] for e in journal[1:5]] == ["fault_4", "fault_3", "fault_2", "fault_1"]
    assert {e["status"] for e in journal[1:5]} == {0}


def test_hang_answers_nothing_until_the_client_gives_up(mock: TriggerMock) -> None:
    mock.fault(drop="hang")
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(
            mock.base_url + "/api/v1/sessions/x",
            headers={"Authorization": f"Bearer {mock.secret_key}"},
            timeout=0.5,
        )
    assert time.monotonic() - started >= 0.5
    assert mock.api("GET", "/api/v1/sessions/x")[0] == 404  # the server is fine


def test_dribble_sends_the_body_in_pieces(mock: TriggerMock) -> None:
    mock.api("POST", "/api/v1/sessions", session_body(externalId="slow"))
    mock.fault(dribble={"chunks": 5, "totalMs": 500})
    arrivals = []
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {mock.secret_key}"}
    with httpx.stream("GET", mock.base_url + "/api/v1/sessions/slow", headers=headers) as answer:
        body = b""
        for chunk in answer.iter_raw():
            arrivals.append(time.monotonic() - started)
            body += chunk
    assert json.loads(body)["externalId"] == "slow"
    assert len(arrivals) >= 3 and arrivals[-1] - arrivals[0] >= 0.25


def sse_records(mock: TriggerMock, path: str, **headers: str) -> tuple[list[int], bool]:
    """Sequence numbers read from an SSE subscription, and whether it ended cleanly."""
    seqs: list[int] = []
    auth = {"Authorization": f"Bearer {mock.secret_key}", "Timeout-Seconds": "1", **headers}
    try:
        with httpx.stream("GET", mock.base_url + path, headers=auth, timeout=5) as answer:
            for line in answer.iter_lines():
                if line.startswith('data: {"records"'):
                    seqs += [r["seq_num"] for r in json.loads(line[6:])["records"]]
    except httpx.RemoteProtocolError:
        return seqs, False
    return seqs, True


def test_cut_after_records_ends_the_stream_abruptly_and_resume_gets_the_rest(
    mock: TriggerMock,
) -> None:
    mock.api("POST", "/api/v1/sessions", session_body(externalId="cut"))
    mock.write_out("cut", records=[{"data": {"n": n}} for n in range(5)])
    mock.fault(operation="subscribe_to_session_channel_v1", cut_after_records=3)
    seqs, clean = sse_records(mock, "/realtime/v1/sessions/cut/out")
    assert (seqs, clean) == ([0, 1, 2], False)
    rest, clean = sse_records(mock, "/realtime/v1/sessions/cut/out", **{"Last-Event-ID": "2"})
    assert (rest, clean) == ([3, 4], True)


def test_faults_file_rules_hold_from_the_start_and_come_back_on_reset(tmp_path: Path) -> None:
    rules = tmp_path / "faults.yaml"
    rules.write_text(
        "- match: {operation: retrieve_session_v1}\n  action: {status: 503}\n  times: 2\n"
    )
    with MockServer("--faults", str(rules)) as server:
        mock = server.handle()
        assert [mock.api("GET", "/api/v1/sessions/x")[0] for _ in range(3)] == [503, 503, 404]
        assert mock.faults()[0]["fired"] == 2
        rules.unlink()  # read once at start-up: a reset does not need the file again
        mock.reset()
        assert mock.faults()[0]["fired"] == 0
        assert mock.api("GET", "/api/v1/sessions/x")[0] == 503


def test_a_bad_faults_file_stops_the_start_naming_each_problem(tmp_path: Path) -> None:
    rules = tmp_path / "faults.json"
    rules.write_text(json.dumps([{"action": {"status": 503}},
                                 {"action": {"drop": "boom"}},
                                 {"action": {"status": 1, "delayMs": -1}}]))  # fmt: skip
    stderr = refused_start("--faults", str(rules))
    assert "[1].action.drop" in stderr and "[2].action.status" in stderr
    assert "[2].action.delayMs" in stderr and "[0]" not in stderr
    assert "no such file" in refused_start("--faults", str(tmp_path / "missing.yaml"))


@pytest.mark.parametrize("policy", ["fast", "0/1", "5/0", "5/x"])
def test_a_bad_rate_limit_stops_the_start(policy: str) -> None:
    assert "--rate-limit" in refused_start("--rate-limit", policy)


def test_the_rate_limit_option_and_its_variable() -> None:
    with MockServer(env={"TRIGGER_MOCK_RATE_LIMIT": "2/60"}) as server:
        mock = server.handle()
        statuses = [mock.api("GET", "/api/v1/sessions/x")[0] for _ in range(3)]
        assert statuses == [404, 404, 429]
        assert server.call("GET", "/_mock/health")[1]["rateLimit"] == "2/60"


def test_fixture_methods(mock: TriggerMock) -> None:
    other = mock.server.handle()
    with mock.fault(operation="retrieve_session_v1", status=500) as fault:
        assert other.api("GET", "/api/v1/sessions/x")[0] == 404  # another environment
        assert mock.api("GET", "/api/v1/sessions/x")[0] == 500
        assert fault.fired == 1
    assert mock.faults() == []  # removed on leaving the block
    mock.fault(status=503, times=None, any_environment=True)
    assert other.api("GET", "/api/v1/sessions/x")[0] == 503
    assert mock.clear_faults() == 1
    with mock.rate_limit("1/60"):
        assert [mock.api("GET", "/api/v1/sessions/x")[0] for _ in range(2)] == [404, 429]
    assert mock.server.call("GET", "/_mock/rate-limit")[1]["policy"] == "off"


def test_a_fault_for_one_request_fires_once_under_50_concurrent_ones(mock: TriggerMock) -> None:
    mock.api("POST", "/api/v1/sessions", session_body(externalId="busy"))
    mock.fault(operation="retrieve_session_v1", status=503, delay_ms=20)
    headers = {"Authorization": f"Bearer {mock.secret_key}"}
    limits = httpx.Limits(max_connections=50)
    with (
        httpx.Client(base_url=mock.base_url, headers=headers, limits=limits) as client,
        ThreadPoolExecutor(max_workers=50) as pool,
    ):
        statuses = list(
            pool.map(lambda _: client.get("/api/v1/sessions/busy").status_code, range(50))
        )
    assert sorted(statuses) == [200] * 49 + [503]
    assert mock.faults()[0]["fired"] == 1
