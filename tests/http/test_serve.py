"""`trigger-mock serve` as a real process: options, env vars, logs, signals, raw HTTP."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mock_server.testing import MockServer
from tests.support import new_key, raw_http, refused_start, session_body, status_and_json

pytestmark = pytest.mark.subprocess


@pytest.fixture
def server() -> Iterator[MockServer]:
    process = MockServer("--log-level", "info")
    process.start()
    yield process
    process.stop()


def test_startup_line_names_the_url_operations_and_fidelity() -> None:
    process = MockServer("--fidelity", "deployed", "--seed", "3", "--log-level", "info")
    process.start()
    httpx.get(f"{process.base_url}/_mock/health")
    assert process.stop() == 0
    output = process.output()
    assert f"serving {process.base_url}" in output
    assert (
        "23 operations bound (create_session_v1, list_sessions_v1, retrieve_session_v1, " in output
    )
    assert "fidelity deployed" in output and "seed 3" in output
    assert '"GET /_mock/health" 200' in output


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_the_server_cleanly(server: MockServer, sig: int) -> None:
    assert server.stop(sig) == 0
    assert "trigger-mock stopped" in server.output()


def test_environment_variables_mirror_the_options() -> None:
    allowed, admin = new_key(), "s3cret"
    process = MockServer(
        env={
            "TRIGGER_MOCK_FIDELITY": "deployed",
            "TRIGGER_MOCK_SECRET_KEY": f"{allowed},{new_key('prod')}",
            "TRIGGER_MOCK_ADMIN_TOKEN": admin,
            "TRIGGER_MOCK_LOG_LEVEL": "warning",
        }
    )
    try:
        process.start()
        base = process.base_url
        health = httpx.get(f"{base}/_mock/health").json()
        assert health["fidelity"] == "deployed" and health["adminTokenRequired"] is True
        ok = httpx.post(
            f"{base}/api/v1/sessions",
            json=session_body(),
            headers={"Authorization": f"Bearer {allowed}"},
        )
        assert ok.status_code == 201
        other = httpx.get(
            f"{base}/api/v1/sessions", headers={"Authorization": f"Bearer {new_key()}"}
        )
        assert other.status_code == 401 and other.json() == {"error": "Invalid API key"}
        assert httpx.post(f"{base}/_mock/reset").status_code == 401
        reset = httpx.post(f"{base}/_mock/reset", headers={"Authorization": f"Bearer {admin}"})
        assert reset.json() == {"dropped": 1}
    finally:
        process.stop()
    assert "serving" not in process.output()


def test_a_malformed_configured_key_is_refused_at_start() -> None:
    assert "not a secret key" in refused_start("--secret-key", "sk_nope")


def test_serve_refuses_a_bad_seed_file(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("environments: {}", encoding="utf-8")
    assert "needs an `environments` mapping" in refused_start("--seed-file", str(seed))


def test_open_event_streams_do_not_hold_a_stop() -> None:
    process = MockServer("--log-level", "warning")
    process.start()
    auth = f"Authorization: Bearer {new_key()}\r\n"
    readers = []
    for _ in range(5):
        reader = socket.create_connection(("127.0.0.1", process.port), timeout=5)
        reader.sendall(
            b"GET /realtime/v1/sessions/chat-1/out HTTP/1.1\r\nHost: x\r\n"
            + auth.encode()
            + b"Timeout-Seconds: 600\r\n\r\n"
        )
        assert reader.recv(12).startswith(b"HTTP/1.1 200")
        readers.append(reader)
    assert process.stop(signal.SIGTERM, timeout=10) == 0
    for reader in readers:
        with reader:
            received = b""
            while chunk := reader.recv(65536):
                received += chunk
        # The stream was ended (its last event, then the chunked body's end), not cut off.
        assert b"data: [DONE]\n\n" in received and received.endswith(b"\r\n0\r\n\r\n")


def test_the_console_script_is_installed() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from mock_server.server.cli import main; main(['--version'])"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "trigger-mock 0.1.0" in result.stdout


def test_a_seed_makes_ids_repeat_across_runs() -> None:
    runs = []
    for _ in range(2):
        process = MockServer("--seed", "42", "--log-level", "warning")
        process.start()
        key = "tr_dev_fixed0000000000000000"
        created = [
            httpx.post(
                f"{process.base_url}/api/v1/sessions",
                json=session_body(),
                headers={"Authorization": f"Bearer {key}"},
            ).json()
            for _ in range(3)
        ]
        process.stop()
        runs.append([(row["id"], row["runId"]) for row in created])
    assert runs[0] == runs[1]
    assert len(set(runs[0])) == 3


CREATE = (
    b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tr_dev_rawtest\r\n"
    b"Content-Type: application/json\r\n"
)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST /api/v1/sessions/%ff%fe/close HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer tr_dev_rawtest\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        b"GET /api/v1/sessions/\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GARBAGE\r\n\r\n",
        CREATE + b"Content-Length: abc\r\nConnection: close\r\n\r\n{}",
        CREATE + b"Content-Length: 99999999\r\nConnection: close\r\n\r\n{}",
        b"GET /api/v1/sessions HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n"
        b"Connection: close\r\n\r\n",
        b"GET /api/v1/sessions/" + b"x" * 60_000 + b" HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer tr_dev_rawtest\r\nConnection: close\r\n\r\n",
    ],
)
def test_malformed_requests_get_a_json_4xx_and_the_server_lives(
    server: MockServer, request_bytes: bytes
) -> None:
    status, body = status_and_json(raw_http(server.port, request_bytes))
    assert 400 <= status < 500
    assert isinstance(body, dict) and isinstance(body["error"], str)
    assert httpx.get(f"{server.base_url}/_mock/health").status_code == 200


def test_a_client_that_lies_about_content_length_changes_nothing(server: MockServer) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(CREATE + b"Content-Length: 500\r\n\r\n" + b'{"type":"x"')
        sock.shutdown(socket.SHUT_WR)
        sock.recv(65536)
    listed = httpx.get(
        f"{server.base_url}/api/v1/sessions", headers={"Authorization": "Bearer tr_dev_rawtest"}
    )
    assert listed.json()["data"] == []


def test_parallel_creates_over_real_connections_make_one_session(server: MockServer) -> None:
    key = new_key()
    results: list[int] = []

    def create() -> None:
        response = httpx.post(
            f"{server.base_url}/api/v1/sessions",
            json=session_body(externalId="real-race"),
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        results.append(response.status_code)

    threads = [threading.Thread(target=create) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200] * 19 + [201]
    listed = httpx.get(
        f"{server.base_url}/api/v1/sessions", headers={"Authorization": f"Bearer {key}"}
    )
    assert len(listed.json()["data"]) == 1
