"""HTTP/2 in cleartext on the API's own port, as a served fake speaks it: a connection
that opens with the HTTP/2 preface (prior knowledge, as the SDK's S2 writer on Node sends
it) is served as HTTP/2, anything else as HTTP/1.1, however the first bytes are split; an
HTTP/2 connection outlives a request body that comes after its answer. Its bounds and
its stop are in ``test_http2_bounds.py``.

Raw sockets where the bytes matter, ``httpx`` with ``http1=False, http2=True`` (h2c with
prior knowledge) for requests."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from mock_server.s2.proto import FrameReader, _message, frame
from mock_server.testing import MockServer
from tests.http.http2_wire import (
    H2,
    PATIENCE,
    PREFACE,
    SETTINGS,
    SETTINGS_FRAME,
    Wire,
    answers_ping,
    created_session,
    h2_client,
)
from tests.support import new_key, session_body, status_and_json

pytestmark = pytest.mark.subprocess


@pytest.fixture(scope="module")
def fake() -> Iterator[MockServer]:
    with MockServer() as served:
        yield served


def test_http2_with_prior_knowledge_and_http1_share_the_api_port(fake: MockServer) -> None:
    auth = {"Authorization": f"Bearer {new_key()}"}
    with h2_client(base_url=fake.base_url) as client:
        health = client.get("/_mock/health")
        assert (health.http_version, health.status_code) == ("HTTP/2", 200)
        assert health.json()["bounds"]["openConnections"] >= 1
        created = client.post("/api/v1/sessions", json=session_body(), headers=auth)
        assert (created.http_version, created.status_code) == ("HTTP/2", 201)
        session = created.json()["id"]
        got = client.get(f"/api/v1/sessions/{session}", headers=auth)
        assert (got.http_version, got.status_code) == ("HTTP/2", 200)
        assert got.json()["id"] == session
    with httpx.Client(base_url=fake.base_url, timeout=PATIENCE) as http1:
        again = http1.get(f"/api/v1/sessions/{session}", headers=auth)
        assert (again.http_version, again.status_code) == ("HTTP/1.1", 200)
        assert again.json()["id"] == session


@pytest.mark.parametrize("http2", [False, True], ids=["HTTP/1.1", "HTTP/2"])
def test_initialize_names_an_s2_endpoint_on_the_port_the_client_reached(
    fake: MockServer, http2: bool
) -> None:
    key = new_key()
    path = f"/realtime/v1/sessions/{created_session(fake, key)}/out"
    auth = {"Authorization": f"Bearer {key}"}
    client = h2_client() if http2 else httpx.Client(timeout=PATIENCE)
    with client:
        # Through a port mapping (9000 outside, the fake's port inside): the Host the
        # client used, never a second port.
        mapped = client.put(fake.base_url + path, headers={**auth, "Host": "localhost:9000"})
        assert mapped.http_version == ("HTTP/2" if http2 else "HTTP/1.1")
        assert mapped.status_code == 202
        assert mapped.headers["x-s2-endpoint"] == "http://localhost:9000/s2/v1"
        direct = client.put(fake.base_url + path, headers=auth)
        assert direct.status_code == 202
        assert direct.headers["x-s2-endpoint"] == f"{fake.base_url}/s2/v1"


def test_the_s2_endpoint_initialize_names_takes_appends_over_http2(fake: MockServer) -> None:
    key = new_key()
    session = created_session(fake, key)
    init = httpx.put(
        f"{fake.base_url}/realtime/v1/sessions/{session}/out",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert init.status_code == 202
    stream = quote(init.headers["x-s2-stream-name"], safe="")
    url = f"{init.headers['x-s2-endpoint']}/streams/{stream}/records"
    s2 = {
        "Authorization": f"Bearer {init.headers['x-s2-access-token']}",
        "s2-basin": init.headers["x-s2-basin"],
    }
    with h2_client() as client:
        ack = client.post(url, json={"records": [{"body": "over h2"}]}, headers=s2)
        assert (ack.http_version, ack.status_code) == ("HTTP/2", 200)
        assert (ack.json()["start"]["seq_num"], ack.json()["end"]["seq_num"]) == (0, 1)
        # The SDK's streaming writer: an s2s/proto append session, one ack per frame.
        batch = _message(1, _message(3, b"by frame"))  # AppendInput{records: [{body}]}
        session_answer = client.post(
            url, content=frame(batch), headers={**s2, "Content-Type": "s2s/proto"}
        )
        assert (session_answer.http_version, session_answer.status_code) == ("HTTP/2", 200)
        assert [flag for flag, _ in FrameReader().feed(session_answer.content)] == [0]
    kept = fake.handle(key).records(session)
    assert [record["body"] for record in kept] == ["over h2", "by frame"]


def test_a_request_body_after_its_answer_leaves_the_connection_and_its_streams_alone(
    fake: MockServer,
) -> None:
    key = new_key()
    path = f"/realtime/v1/sessions/{created_session(fake, key)}/out"
    auth = ("authorization", f"Bearer {key}")
    client = H2(fake.port)
    client.request(1, "GET", path, auth, ("accept", "text/event-stream"), ("timeout-seconds", "60"))
    client.until(lambda: 1 in client.status)
    assert client.status[1] == 200
    # Answered before their bodies come: a PUT whose empty body is a DATA frame of its own
    # (as httpx sends one), an append refused for its credential.
    client.request(3, "PUT", path, auth, ("content-length", "0"), end=False)
    assert client.answered(3) == 202
    client.send_body(3, b"")
    body = json.dumps({"said": "never"}).encode()
    client.request(
        5,
        "POST",
        path + "/append",
        ("authorization", "Bearer nope"),
        ("content-length", str(len(body))),
        end=False,
    )
    assert client.answered(5) == 401
    client.send_body(5, body)
    # The connection goes on: a new request is served, the stream still delivers.
    client.request(7, "GET", "/_mock/health")
    assert client.answered(7) == 200
    appended = fake.call("POST", path + "/append", {"said": "still here"}, token=key)
    assert appended[0] == 200
    client.until(lambda: b"still here" in client.body.get(1, b""))
    assert b"never" not in client.body.get(1, b"")
    client.wire.close()


@pytest.mark.parametrize("split", [1, len(b"PRI * HT"), len(PREFACE) - 1])
def test_a_preface_split_across_reads_is_still_http2(fake: MockServer, split: int) -> None:
    wire = Wire(fake.port)
    wire.send(PREFACE[:split])
    time.sleep(0.2)  # its own read on the server
    wire.send(PREFACE[split:] + SETTINGS_FRAME)
    while len(wire.buffer) < 9:
        assert wire.more(), f"closed with {wire.buffer!r}"
    assert wire.buffer[3] == SETTINGS, wire.buffer[:40]
    assert answers_ping(wire)
    wire.close()


@pytest.mark.parametrize("method", ["PUT", "POST", "GET"])
def test_http1_whose_first_bytes_come_one_at_a_time_is_still_http1(
    fake: MockServer, method: str
) -> None:
    key = new_key()
    session = created_session(fake, key)
    target, body, expected = {
        "PUT": (f"/realtime/v1/sessions/{session}/out", b"", 202),
        "POST": ("/api/v1/sessions", json.dumps(session_body(externalId="bytewise")).encode(), 201),
        "GET": ("/_mock/health", b"", 200),
    }[method]
    request = (
        f"{method} {target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body
    wire = Wire(fake.port)
    wire.send(request[:1])  # "P" could begin the preface (the server waits), "G" cannot
    time.sleep(0.1)
    wire.send(request[1:2])
    time.sleep(0.1)
    wire.send(request[2:])
    answer = wire.rest()
    wire.close()
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    status, answered = status_and_json(answer)
    assert status == expected, answered
    if method == "PUT":
        assert answered == {"version": "v2"} and b"x-s2-endpoint: http://x/s2/v1" in answer
    elif method == "POST":
        assert answered["externalId"] == "bytewise"
    else:
        assert answered["bounds"]["openConnections"] >= 1


@pytest.mark.parametrize(
    "pieces",
    [
        [b"GARBAGE\r\n\r\n"],
        [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"],  # a TLS ClientHello's start
        [SETTINGS_FRAME],  # HTTP/2 without the preface
        [b"PRX * HTTP/2.0\r\n\r\nSM\r\n\r\n"],  # the preface's first two bytes only
        [b"PRI * HTTP/2.0\r\n\r\n", b"XX\r\n\r\n"],  # its length, held, but not it
    ],
    ids=["garbage", "tls", "bare-settings", "near-preface", "late-mismatch"],
)
def test_bytes_that_are_not_http_get_the_json_400(fake: MockServer, pieces: list[bytes]) -> None:
    wire = Wire(fake.port)
    for piece in pieces[:-1]:
        wire.send(piece)
        time.sleep(0.2)
    wire.send(pieces[-1])
    answer = wire.rest()
    wire.close()
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    assert b"content-type: application/json" in answer.lower()
    status, body = status_and_json(answer)
    assert status == 400
    assert isinstance(body, dict) and isinstance(body["error"], str) and body["error"]
    assert httpx.get(f"{fake.base_url}/_mock/health").status_code == 200  # and it lives on
