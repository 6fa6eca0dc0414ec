"""Recording and replay end to end: traffic to a served fake, recorded as the proxy would
record it; the seed file rebuilds the state seen on a second fake, and the cassette
replays against a fresh fake with no differences, and with the difference a fault makes.

The exchanges are built here from httpx's requests and answers (the proxy builds the same
objects from what passes through it)."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from mock_server.proxy.exchange import Exchange
from mock_server.proxy.recording import Recorder, RecordingSummary
from mock_server.proxy.replay import replay
from mock_server.server import replay_command
from mock_server.testing import MockProxy, MockServer
from tests.support import new_key, session_body

pytestmark = pytest.mark.subprocess


class Driver:
    """Sends requests to a fake with one key and keeps each as an :class:`Exchange`."""

    def __init__(self, client: httpx.AsyncClient, key: str) -> None:
        self.client = client
        self.key = key
        self.exchanges: list[Exchange] = []

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: Any = None,
        content: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        sent = {"Authorization": f"Bearer {token or self.key}", **(headers or {})}
        if body is not None:
            content = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        request = self.client.build_request(method, path, headers=sent, content=content)
        at = time.time()
        answer = await self.client.send(request, stream=True)
        raw = b"".join([chunk async for chunk in answer.aiter_raw()])
        await answer.aclose()
        path_only, _, query = request.url.raw_path.decode().partition("?")
        exchange = Exchange(
            number=len(self.exchanges) + 1,
            at_ms=int(at * 1000),
            method=method,
            path=path_only,
            query=query,
            request_headers=[
                (k.decode().lower(), v.decode("latin-1")) for k, v in request.headers.raw
            ],
        )
        exchange.request_body.add(request.content)
        exchange.status = answer.status_code
        exchange.response_headers = [
            (k.decode().lower(), v.decode("latin-1")) for k, v in answer.headers.raw
        ]
        exchange.response_body.add(raw)
        exchange.latency_ms = (time.time() - at) * 1000
        self.exchanges.append(exchange)
        try:
            return answer.status_code, json.loads(raw)
        except ValueError:
            return answer.status_code, raw


@dataclass
class Recorded:
    server: MockServer
    key: str
    summary: RecordingSummary
    placeholder: str


async def drive(server: MockServer, key: str) -> list[Exchange]:
    # Before the recording: a session and two .out records the recording only reads.
    server.call("POST", "/api/v1/sessions", session_body(externalId="old-1"), token=key)
    old_records = [{"body": "before-1"}, {"data": {"a": 1}, "id": "x1"}]
    server.call(
        "POST", "/_mock/sessions/old-1/out/records", {"environment": key, "records": old_records}
    )
    async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as client:
        d = Driver(client, key)
        await d.call("GET", "/api/v1/sessions/old-1")
        await d.call(
            "POST",
            "/realtime/v1/sessions/old-1/in/append",
            content=b"hello old",
            headers={"X-Part-Id": "o1"},
        )
        await d.call("GET", "/realtime/v1/sessions/old-1/out", headers={"Timeout-Seconds": "1"})
        _, created = await d.call(
            "POST", "/api/v1/sessions", body=session_body(externalId="chat-1")
        )
        _, second = await d.call("POST", "/api/v1/sessions", body=session_body(tags=["x"]))
        token = created["publicAccessToken"]
        reading = asyncio.create_task(
            d.call(
                "GET",
                "/realtime/v1/sessions/chat-1/out",
                token=token,
                headers={"Timeout-Seconds": "1"},
            )
        )
        await asyncio.sleep(0.2)  # the read is waiting when the records arrive
        await d.call(
            "POST",
            "/realtime/v1/sessions/chat-1/in/append",
            content=b'{"kind":"message","text":"hi"}',
            headers={"X-Part-Id": "p1"},
        )
        records = [
            {"data": {"type": "text-delta", "delta": "hello"}, "id": "part-a"},
            {"control": "turn-complete"},
        ]
        await d.call(
            "POST",
            "/_mock/sessions/chat-1/out/records",
            body={"environment": key, "records": records},
        )
        await d.call("GET", f"/realtime/v1/sessions/{second['id']}/in/records")
        await d.call("POST", f"/api/v1/sessions/{second['id']}/close", body={"reason": "done"})
        await d.call("GET", "/api/v1/sessions")
        await d.call("POST", "/api/v1/auth/jwt/claims")
        await d.call(
            "GET", f"/realtime/v1/sessions/{second['id']}/in", headers={"Timeout-Seconds": "1"}
        )
        await reading
        return d.exchanges


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    directory = tmp_path_factory.mktemp("recording")
    with MockServer() as server:
        key = new_key()
        exchanges = asyncio.run(drive(server, key))
        recorder = Recorder(directory, server.base_url)
        for exchange in reversed(exchanges):  # completion order is not request order
            recorder.add(exchange)
        summary = recorder.close()
        assert recorder.close() is summary
        yield Recorded(server, key, summary, "tr_dev_recorded000000000001")


def without_part_ids(body: str) -> str:
    """A part's stored envelope without its id (a part id the server minted is new on a
    fake seeded from the recording)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return body
    return json.dumps(parsed["data"]) if isinstance(parsed, dict) and "data" in parsed else body


def state(server: MockServer, key: str, *, part_ids: bool = True) -> list[dict[str, Any]]:
    """The sessions of ``key``'s environment with their records, as compared here."""
    _, listed = server.call("GET", f"/_mock/sessions?environment={key}")
    (env,) = listed["environments"]
    found = []
    for row in env["sessions"]:
        channels = {}
        for io in ("in", "out"):
            path = f"/_mock/sessions/{quote(row['id'])}/{io}/records?environment={key}"
            records = server.call("GET", path)[1]["records"]
            channels[io] = [
                (r["seqNum"], r["headers"], r["body"] if part_ids else without_part_ids(r["body"]))
                for r in records
            ]
        fields = ("id", "externalId", "status", "closedReason", "currentRunId", "tags")
        found.append({name: row[name] for name in fields} | channels)
    return found


def test_the_recording_holds_what_was_seen(recorded: Recorded) -> None:
    summary = recorded.summary
    assert summary.interactions == 13
    assert (summary.sessions, summary.records) == (3, 6)
    assert summary.seed is not None and summary.start is not None
    assert summary.notes == ()
    text = "".join(p.read_text() for p in summary.directory.iterdir())
    assert recorded.key not in text and "eyJ" not in text


def test_the_seed_file_gives_a_fake_with_the_recorded_state(recorded: Recorded) -> None:
    assert recorded.summary.seed is not None
    with MockServer("--seed-file", str(recorded.summary.seed)) as seeded:
        assert state(seeded, recorded.placeholder) == state(recorded.server, recorded.key)


def test_the_cassette_replays_against_a_fake_it_starts_with_no_difference(
    recorded: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    replay_command.add_arguments(parser, {})
    status = replay_command.run(parser.parse_args([str(recorded.summary.cassette)]))
    out = capsys.readouterr().out
    assert status == 0, out
    assert "replayed 13 of 13 interactions" in out and "0 difference(s)" in out


def test_a_fault_on_the_target_is_reported_where_it_struck(recorded: Recorded) -> None:
    assert recorded.summary.start is not None
    with MockServer("--seed-file", str(recorded.summary.start)) as target:
        rule = {"match": {"operation": "create_session_v1"}, "action": {"status": 500}}
        assert target.call("POST", "/_mock/faults", rule)[0] == 201
        report = asyncio.run(replay(recorded.summary.cassette, target.base_url))
    lines = [d.line() for d in report.differences]
    assert "#3 POST /api/v1/sessions: status 201 recorded, 500 now" in lines
    assert any(
        line.startswith("final state, ") and "missing on the target" in line for line in lines
    )
    assert all(d.index != 0 for d in report.differences)  # what the fault left alone matched


def test_a_changed_record_on_the_target_is_reported(recorded: Recorded) -> None:
    assert recorded.summary.start is not None
    start = recorded.summary.start.read_text().replace("before-1", "before-2")
    changed = recorded.summary.directory / "changed-start.yaml"
    changed.write_text(start)
    with MockServer("--seed-file", str(changed)) as target:
        report = asyncio.run(replay(recorded.summary.cassette, target.base_url))
    lines = [d.line() for d in report.differences]
    wanted = '#2 GET /realtime/v1/sessions/old-1/out: records[0].body: "before-1" recorded, '
    assert wanted + '"before-2" now' in lines


def test_a_recording_made_by_the_proxy_replays_with_no_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``trigger-mock proxy --record DIR`` in front of a fake writes the same files, and
    its cassette replays cleanly against a fresh fake."""
    key = new_key()
    auth = {"Authorization": f"Bearer {key}"}
    with MockServer() as upstream:
        with MockProxy(upstream.base_url, "--record", str(tmp_path)) as proxy:
            with httpx.Client(base_url=proxy.base_url, headers=auth, timeout=15) as client:
                created = client.post("/api/v1/sessions", json=session_body(externalId="via"))
                assert created.status_code == 201
                client.post("/realtime/v1/sessions/via/in/append", content=b"hello")
                client.post("/api/v1/sessions/via/close", json={"reason": "bye"})
            proxy.stop(signal.SIGINT)  # the recording is written as the proxy stops
        expected = state(upstream, key, part_ids=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cassette.yaml", "seed.yaml"]
    assert key not in "".join(p.read_text() for p in tmp_path.iterdir())
    with MockServer("--seed-file", str(tmp_path / "seed.yaml")) as seeded:
        assert state(seeded, "tr_dev_recorded000000000001", part_ids=False) == expected
    parser = argparse.ArgumentParser()
    replay_command.add_arguments(parser, {})
    status = replay_command.run(parser.parse_args([str(tmp_path / "cassette.yaml")]))
    assert status == 0, capsys.readouterr().out
