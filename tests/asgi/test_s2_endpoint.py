"""The fake's S2 endpoint in its binary forms (the JSON form is in the contract suite, and
the Node SDK drives all three over HTTP/2 in tests/sdk/test_official_sdk.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from mock_server.app import create_app
from mock_server.core.fidelity import Fidelity
from mock_server.core.settings import Settings
from mock_server.s2.proto import COMPRESSED, TERMINAL, FrameReader, _fields, _message, frame
from tests.support import new_key

pytestmark = pytest.mark.anyio


def append_input(*bodies: bytes) -> bytes:
    return b"".join(_message(1, _message(3, body)) for body in bodies)


def positions(ack: bytes) -> list[int]:
    """The seq_num of an AppendAck's start, end and tail."""
    found = []
    for _, position in _fields(ack):
        assert isinstance(position, bytes)
        seq_num = dict(_fields(position))[1]
        assert isinstance(seq_num, int)
        found.append(seq_num)
    return found


@pytest.fixture(params=list(Fidelity), ids=lambda f: f.value)
async def s2(request: pytest.FixtureRequest) -> AsyncIterator[tuple[httpx.AsyncClient, str, str]]:
    """The S2 endpoint in both modes (deployed mode reads API bodies as JSON whatever their
    type; S2's own types must survive it: the SDK's writer hung when they did not)."""
    transport = httpx.ASGITransport(app=create_app(Settings(fidelity=request.param)))
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as client:
        auth = {"Authorization": f"Bearer {new_key()}"}
        init = await client.put("/realtime/v1/sessions/chat-1/out", headers=auth)
        url = "/s2/v1/streams/%2Fsessions%2Fchat-1%2Fout/records"
        yield client, url, init.headers["x-s2-access-token"]


async def test_an_append_session_acks_every_frame_in_order(
    s2: tuple[httpx.AsyncClient, str, str],
) -> None:
    client, url, token = s2
    body = frame(append_input(b'{"data":1,"id":"a"}', b'{"data":2,"id":"b"}'))
    body += frame(append_input(b'{"data":3,"id":"c"}'))
    response = await client.post(
        url, content=body, headers={"Authorization": f"Bearer {token}", "Content-Type": "s2s/proto"}
    )
    assert response.status_code == 200
    acks = FrameReader().feed(response.content)
    assert [flag for flag, _ in acks] == [0, 0]
    assert [positions(ack) for _, ack in acks] == [[0, 2, 2], [2, 3, 3]]


async def test_a_bad_frame_ends_the_session_with_a_terminal_error(
    s2: tuple[httpx.AsyncClient, str, str],
) -> None:
    client, url, token = s2
    body = frame(append_input(b"ok")) + frame(append_input(b"zipped"), COMPRESSED & 0x20)
    response = await client.post(
        url, content=body, headers={"Authorization": f"Bearer {token}", "Content-Type": "s2s/proto"}
    )
    frames = FrameReader().feed(response.content)
    assert frames[0][0] == 0
    flag, payload = frames[1]
    assert flag == TERMINAL and int.from_bytes(payload[:2], "big") == 400
    assert b"compressed" in payload


async def test_a_protobuf_append_gets_a_protobuf_ack_and_bad_bytes_a_400(
    s2: tuple[httpx.AsyncClient, str, str],
) -> None:
    client, url, token = s2
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/protobuf"}
    ok = await client.post(url, content=append_input(b"one", b"two"), headers=headers)
    assert ok.status_code == 200 and ok.headers["content-type"] == "application/protobuf"
    assert positions(ok.content) == [0, 2, 2]
    bad = await client.post(url, content=b"\x0a\xff", headers=headers)
    assert bad.status_code == 400 and "error" in bad.json()


async def test_appends_past_s2s_own_bounds_are_refused_in_every_form(
    s2: tuple[httpx.AsyncClient, str, str],
) -> None:
    client, url, token = s2
    auth = {"Authorization": f"Bearer {token}"}
    too_many = append_input(*[b"x"] * 1001)
    unary = await client.post(
        url, content=too_many, headers={**auth, "Content-Type": "application/protobuf"}
    )
    assert unary.status_code == 400 and "1000 records" in unary.json()["error"]
    as_json = await client.post(url, json={"records": [{"body": ""}] * 1001}, headers=auth)
    # openapi/s2.yaml says so too (maxItems): the schema answers first.
    assert as_json.status_code in (400, 422) and "1000" in as_json.json()["error"]
    session = await client.post(
        url, content=frame(too_many), headers={**auth, "Content-Type": "s2s/proto"}
    )
    ((flag, payload),) = FrameReader().feed(session.content)
    assert flag == TERMINAL and int.from_bytes(payload[:2], "big") == 400
    assert b"1000 records" in payload
    huge_frame = (2 * 1024 * 1024).to_bytes(3, "big") + b"\x00"  # announced, never sent
    cut = await client.post(url, content=huge_frame, headers={**auth, "Content-Type": "s2s/proto"})
    ((flag, payload),) = FrameReader().feed(cut.content)
    assert flag == TERMINAL and b"bad frame length" in payload
    # Nothing of the refused appends was kept: the stream is still empty.
    one = await client.post(url, json={"records": [{"body": "z"}]}, headers=auth)
    assert one.json()["start"]["seq_num"] == 0
