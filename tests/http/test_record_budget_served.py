"""The probe that found the gap, repeated against a served fake: 600 appends of 900 KB to
one ``.out`` once took the process from 60 MB to 587 MB. With ``--max-record-bytes`` the
records kept, the process's memory and the state file all stay within the budget, while
another client is served as usual throughout. SSE readers beyond ``--max-sse-readers``
are answered ``503`` in the channel routes' error shape."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx

from mock_server.control.persistence import load
from mock_server.core.limits import LIMIT_HEADER, MIB
from mock_server.testing import MockServer
from tests.support import new_key, session_body

BUDGET_MIB = 64
APPENDS = 600
BODY = b"p" * 900_000


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def test_600_appends_of_900_kb_stay_within_the_budget(tmp_path: Path) -> None:
    state, key = tmp_path / "state.json", new_key()
    auth = {"Authorization": f"Bearer {key}"}
    args = ("--max-record-bytes", f"{BUDGET_MIB}MiB", "--state-file", str(state))
    with MockServer(*args, "--log-level", "warning") as fake:
        with httpx.Client(base_url=fake.base_url, headers=auth, timeout=30) as client:
            assert client.post("/api/v1/sessions", json=session_body(externalId="big")).is_success
            for _ in range(5):  # warm up the paths an append takes
                client.post("/realtime/v1/sessions/big/out/append", content=b"warm")
            baseline = rss_mib(fake.pid)
            others: list[int] = []
            stop = threading.Event()

            def another_client() -> None:  # creates and lists while the flood goes on
                with httpx.Client(base_url=fake.base_url, headers=auth, timeout=30) as other:
                    while not stop.is_set():
                        made = other.post("/api/v1/sessions", json=session_body())
                        others.append(made.status_code)
                        others.append(other.get("/api/v1/sessions?page[size]=5").status_code)

            beside = threading.Thread(target=another_client)
            beside.start()
            try:
                peak = baseline
                for n in range(APPENDS):
                    sent = client.post("/realtime/v1/sessions/big/out/append", content=BODY)
                    assert sent.status_code == 200, sent.text
                    if n % 50 == 0:
                        peak = max(peak, rss_mib(fake.pid))
                peak = max(peak, rss_mib(fake.pid))
            finally:
                stop.set()
                beside.join()
            health = client.get("/_mock/health").json()
        records = health["records"]
        assert records["bytes"] <= BUDGET_MIB * MIB + 1 * MIB
        assert records["dropped"] > APPENDS - BUDGET_MIB * MIB // len(BODY) - 5
        assert records["trimmingSince"] is not None
        # What the process holds beyond the budget: request buffers, one record being
        # made, the state file being written (before: +527 MB, growing with every append).
        assert peak - baseline < BUDGET_MIB + 64, (baseline, peak)
        assert others and set(others) <= {200, 201}, set(others)
    # The clean stop saved what the budget kept, and no more.
    assert state.stat().st_size <= BUDGET_MIB * MIB + 1 * MIB
    document = load(state)
    (stream,) = [s for env in document["environments"].values() for s in env.get("streams", [])]
    assert stream["tail"] == APPENDS + 5 and stream["records"][-1]["seq_num"] == APPENDS + 4


def test_sse_readers_beyond_the_cap_are_answered_503() -> None:
    key = new_key()
    auth = {"Authorization": f"Bearer {key}"}
    args = ("--max-sse-readers", "3")
    with MockServer(*args) as fake, httpx.Client(base_url=fake.base_url, headers=auth) as client:
        assert client.post("/api/v1/sessions", json=session_body(externalId="r")).is_success
        readers = [_open_reader(fake.port, key) for _ in range(3)]
        refused = client.get("/realtime/v1/sessions/r/out")
        assert refused.status_code == 503, refused.text
        assert refused.headers[LIMIT_HEADER] == "sse-readers"
        assert refused.headers["retry-after"] == "1"
        body = refused.json()
        assert body["ok"] is False and "--max-sse-readers" in body["error"]
        health = client.get("/_mock/health").json()
        assert (health["liveReaders"], health["bounds"]["refusedReaders"]) == (3, 1)
        assert client.get("/api/v1/sessions/r").status_code == 200  # the rest is served
        for reader in readers:
            reader.close()
        # A reader that left counts until the server next writes to it (a ping: 5 s).
        deadline = time.monotonic() + 20
        while client.get("/_mock/health").json()["liveReaders"] and time.monotonic() < deadline:
            time.sleep(0.2)
        admitted = _open_reader(fake.port, key)  # asserts a 200
        admitted.close()


def _open_reader(port: int, key: str) -> socket.socket:
    """An SSE reader that stays connected and reads its first event (so it counts)."""
    reader = socket.create_connection(("127.0.0.1", port), timeout=10)
    reader.sendall(
        b"GET /realtime/v1/sessions/r/out HTTP/1.1\r\nHost: x\r\n"
        + f"Authorization: Bearer {key}\r\nTimeout-Seconds: 60\r\n\r\n".encode()
    )
    received = b""
    while b"\r\n\r\n" not in received:
        received += reader.recv(4096)
    assert received.startswith(b"HTTP/1.1 200"), received[:200]
    return reader
