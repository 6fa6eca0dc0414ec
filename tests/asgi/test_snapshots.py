"""Chat snapshots on the fake (both modes): the object store behind the presigned URLs,
its bounds, and the snapshot's life with its session (reset, state file)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server.app import create_app
from mock_server.control.persistence import save
from mock_server.core.fidelity import Fidelity
from mock_server.core.limits import Limits
from mock_server.core.settings import Settings
from mock_server.sessions.snapshots import MAX_SNAPSHOT_BYTES
from tests.support import asgi_client, new_key, session_body

pytestmark = pytest.mark.anyio


@pytest.fixture(params=[Fidelity.DOCUMENTED, Fidelity.DEPLOYED], ids=lambda f: f.value)
def fidelity(request: pytest.FixtureRequest) -> Fidelity:
    return Fidelity(request.param)


@pytest.fixture
async def client(fidelity: Fidelity) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(Settings(fidelity=fidelity)), new_key()) as opened:
        yield opened


async def url_for(client: httpx.AsyncClient, method: str, ref: str) -> str:
    response = await client.request(method, f"/api/v1/sessions/{ref}/snapshot-url")
    assert response.status_code == 200, response.text
    return str(response.json()["presignedUrl"])


async def put_object(client: httpx.AsyncClient, url: str, body: bytes, **headers: str) -> Any:
    return await client.put(url, content=body, headers={"Authorization": "", **headers})


async def test_the_object_keeps_its_bytes_and_content_type(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/sessions", json=session_body(externalId="snap"))
    body = bytes(range(256)) * 4
    stored = await put_object(
        client, await url_for(client, "PUT", "snap"), body, **{"Content-Type": "x-test/blob"}
    )
    assert stored.status_code == 200
    got = await client.get(await url_for(client, "GET", "snap"), headers={"Authorization": ""})
    assert got.content == body
    assert got.headers["content-type"] == "x-test/blob"
    assert got.headers["etag"] == stored.headers["etag"]


async def test_an_oversized_snapshot_is_refused_and_the_old_one_kept(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/api/v1/sessions", json=session_body(externalId="big"))
    await put_object(client, await url_for(client, "PUT", "big"), b"kept")
    too_big = b"x" * (MAX_SNAPSHOT_BYTES + 1)
    refused = await put_object(client, await url_for(client, "PUT", "big"), too_big)
    assert refused.status_code == 400
    assert b"<Code>EntityTooLarge</Code>" in refused.content
    got = await client.get(await url_for(client, "GET", "big"))
    assert got.content == b"kept"


async def test_a_missing_or_broken_grant_is_refused_in_s3_words(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/api/v1/sessions", json=session_body(externalId="grant"))
    url = await url_for(client, "GET", "grant")
    bare = url.split("?", 1)[0]
    refused = await client.get(bare)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/xml")
    assert b"<Code>AccessDenied</Code>" in refused.content
    dated = url.replace("X-Amz-Date=", "X-Amz-Date=garbage")
    assert (await client.get(dated)).status_code == 400
    # A grant is for one session: the same signature on another path does not hold.
    other = url.replace("/sessions/session_", "/sessions/session_x")
    assert b"SignatureDoesNotMatch" in (await client.get(other)).content


async def test_a_reset_takes_the_snapshot_with_the_session(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/sessions", json=session_body(externalId="gone"))
    await put_object(client, await url_for(client, "PUT", "gone"), b"soon gone")
    get_url = await url_for(client, "GET", "gone")
    put_url = await url_for(client, "PUT", "gone")
    assert (await client.post("/_mock/reset")).status_code == 200
    # A full reset forgets environments that keys made by being used: until the key is
    # used again, the URLs its environment signed do not verify.
    assert (await client.get(get_url)).status_code == 403
    assert (await client.get("/api/v1/sessions")).status_code == 200  # the key, used again
    assert (await client.get(get_url)).status_code == 404
    late = await put_object(client, put_url, b"too late")
    assert late.status_code == 404
    assert b"<Code>NoSuchKey</Code>" in late.content


async def test_the_snapshot_survives_a_restart_through_the_state_file(
    tmp_path: Path, fidelity: Fidelity
) -> None:
    state = tmp_path / "state.json"
    key = new_key()
    first = create_app(Settings(fidelity=fidelity, state_file=str(state)))
    async with asgi_client(first, key) as client:
        await client.post("/api/v1/sessions", json=session_body(externalId="kept"))
        await put_object(client, await url_for(client, "PUT", "kept"), b"\x00binary\xff")
    s = first.state
    save(state, s.store, s.channels, s.environments)
    second = create_app(Settings(fidelity=fidelity, state_file=str(state)))
    async with asgi_client(second, key) as client:
        got = await client.get(await url_for(client, "GET", "kept"))
        assert got.content == b"\x00binary\xff"


async def test_snapshots_past_max_snapshot_bytes_are_refused_and_a_smaller_one_passes() -> None:
    mock = create_app(Settings(limits=Limits(max_snapshot_bytes=1000)))
    async with asgi_client(mock, new_key()) as client:
        for ref in ("one", "two"):
            await client.post("/api/v1/sessions", json=session_body(externalId=ref))
        assert (
            await put_object(client, await url_for(client, "PUT", "one"), b"a" * 600)
        ).is_success
        refused = await put_object(client, await url_for(client, "PUT", "two"), b"b" * 600)
        assert refused.status_code == 507
        assert refused.headers["x-trigger-mock-limit"] == "snapshots"
        assert b"<Code>InsufficientStorage</Code>" in refused.content
        assert b"--max-snapshot-bytes" in refused.content
        missing = await client.get(await url_for(client, "GET", "two"))
        assert missing.status_code == 404  # nothing was kept
        # Replacing a snapshot with a smaller one frees room, even past the bound.
        assert (
            await put_object(client, await url_for(client, "PUT", "one"), b"a" * 100)
        ).is_success
        assert (
            await put_object(client, await url_for(client, "PUT", "two"), b"b" * 600)
        ).is_success
        assert mock.state.store.snapshot_bytes == 700
        health = (await client.get("/_mock/health")).json()
        assert health["bounds"]["refusedSnapshots"] == 1
        await client.post("/_mock/reset", json={"environment": client.headers["Authorization"][7:]})
        assert mock.state.store.snapshot_bytes == 0
