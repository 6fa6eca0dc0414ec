"""``--state-file``: state survives a clean restart and a ``kill -9``; damaged files are
reported, never dropped or overwritten."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from mock_server.control.persistence import load
from mock_server.testing import MockServer
from tests.support import new_key, refused_start, session_body


def served(state: Path) -> MockServer:
    process = MockServer("--state-file", str(state), "--log-level", "warning")
    process.start()
    return process


def test_a_restart_keeps_sessions_records_tokens_and_id_order(tmp_path: Path) -> None:
    state, key = tmp_path / "state.json", new_key()
    auth = {"Authorization": f"Bearer {key}"}
    first = served(state)
    try:
        base = first.base_url
        created = httpx.post(
            f"{base}/api/v1/sessions", json=session_body(externalId="keep"), headers=auth
        ).json()
        httpx.post(f"{base}/realtime/v1/sessions/keep/in/append", content=b"hi", headers=auth)
        httpx.post(f"{base}/api/v1/sessions/keep/close", json={"reason": "done"}, headers=auth)
    finally:
        assert first.stop() == 0
    second = served(state)
    try:
        base = second.base_url
        token = {"Authorization": f"Bearer {created['publicAccessToken']}"}
        row = httpx.get(f"{base}/api/v1/sessions/keep", headers=token).json()
        assert (row["id"], row["closedReason"]) == (created["id"], "done")
        records = httpx.get(f"{base}/realtime/v1/sessions/keep/in/records", headers=auth).json()
        assert [r["data"] for r in records["records"]] == ["hi", ""]  # the close record too
        again = httpx.post(
            f"{base}/api/v1/sessions", json=session_body(externalId="keep"), headers=auth
        )
        assert again.status_code == 409
        newer = httpx.post(f"{base}/api/v1/sessions", json=session_body(), headers=auth).json()
        listed = httpx.get(f"{base}/api/v1/sessions", headers=auth).json()["data"]
        assert [s["id"] for s in listed] == [newer["id"], created["id"]]
    finally:
        assert second.stop() == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"format":"trigger-mock state","version":1,"environments":{', "is not JSON"),
        (b"[]", "is not a trigger-mock state file"),
        (b'{"format":"trigger-mock state","version":99}', "version 99"),
        (
            b'{"format":"trigger-mock state","version":1,"secretKeys":[],'
            b'"environments":{"e":{"sessions":[{"id":1}]}}}',
            "not a stored session",
        ),
    ],
)
def test_a_damaged_file_is_reported_and_left_alone(
    tmp_path: Path, content: bytes, message: str
) -> None:
    state = tmp_path / "state.json"
    state.write_bytes(content)
    assert message in refused_start("--state-file", str(state))
    assert state.read_bytes() == content


def test_kill_9_while_writing_never_leaves_a_file_that_fails_to_load(tmp_path: Path) -> None:
    state, key = tmp_path / "state.json", new_key()
    auth = {"Authorization": f"Bearer {key}"}
    loaded_sessions = []
    for round_ in range(4):
        process = served(state)
        stop = threading.Event()

        def write(
            base: str = process.base_url, round_: int = round_, stop: threading.Event = stop
        ) -> None:
            with httpx.Client(base_url=base, headers=auth) as client:
                n = 0
                while not stop.is_set():
                    try:
                        client.post(
                            "/api/v1/sessions", json=session_body(externalId=f"r{round_}-{n}")
                        )
                        client.post(
                            f"/realtime/v1/sessions/r{round_}-{n}/out/append", content=b"x" * 4096
                        )
                    except httpx.HTTPError:
                        return
                    n += 1

        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.7 + 0.3 * round_)  # past a save or two, then mid-stream
        process.stop(signal.SIGKILL)
        stop.set()
        writer.join()
        document = load(state)  # raises if the file were torn
        loaded_sessions.append(
            sum(len(e.get("sessions", [])) for e in document["environments"].values())
        )
    assert loaded_sessions == sorted(loaded_sessions) and loaded_sessions[-1] > 0
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "state.json"]
    assert all(name.startswith(".state.json.") for name in leftovers)
