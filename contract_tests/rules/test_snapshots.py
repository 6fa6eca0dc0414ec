"""Chat snapshots: the presigned URLs of ``/api/v1/sessions/{session}/snapshot-url``, who
may ask for them, and the object they reach."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from ..harness.client import ContractApi
from ..harness.expect import SCOPE_ERROR, out_of_scope
from .test_auth import sign

pytestmark = pytest.mark.anyio


def _path(ref: str) -> str:
    return f"/api/v1/sessions/{quote(ref, safe='')}/snapshot-url"


async def presigned(
    api: ContractApi, method: str, ref: str, credential: str | None = None
) -> httpx.Response:
    return await api.request(method, _path(ref), credential=credential)


async def fetch(api: ContractApi, method: str, url: str, body: bytes = b"") -> httpx.Response:
    """Call a presigned URL as the SDK does: the URL is the credential, no header."""
    headers = {"Content-Type": "application/json"} if method == "PUT" else {}
    return await api.client.request(method, url, content=body or None, headers=headers)


@pytest.mark.writes
async def test_a_snapshot_round_trips_through_presigned_urls(api: ContractApi) -> None:
    ext = api.ext()
    created = await api.created_session(externalId=ext)
    read = await presigned(api, "GET", ext)
    assert read.status_code == 200, read.text
    url = read.json()["presignedUrl"]
    assert url.startswith(("http://", "https://"))
    nothing_yet = await fetch(api, "GET", url)
    # A store that hides existence from a caller who may not list answers 403.
    assert (
        nothing_yet.status_code == 404
        if api.target.is_mock
        else nothing_yet.status_code in (403, 404)
    )

    write = await presigned(api, "PUT", created["id"])
    assert write.status_code == 200, write.text
    snapshot = b'{"version":2,"messages":[]}'
    stored = await fetch(api, "PUT", write.json()["presignedUrl"], snapshot)
    assert stored.status_code == 200, stored.text

    # Any key of the session reaches the same object.
    again = await presigned(api, "GET", created["id"])
    got = await fetch(api, "GET", again.json()["presignedUrl"])
    assert got.status_code == 200
    assert got.content == snapshot


@pytest.mark.writes
async def test_snapshot_urls_need_a_scope_on_that_session(api: ContractApi) -> None:
    mine, other = api.ext("mine"), api.ext("other")
    token = (await api.created_session(externalId=mine))["publicAccessToken"]
    other_id = (await api.created_session(externalId=other))["id"]
    for method in ("GET", "PUT"):
        assert (await presigned(api, method, mine, credential=token)).status_code == 200
        out_of_scope(api, await presigned(api, method, other, credential=token))
        out_of_scope(api, await presigned(api, method, other_id, credential=token))
    reader = await sign(api, [f"read:sessions:{mine}"])
    assert (await presigned(api, "GET", mine, credential=reader)).status_code == 200
    out_of_scope(api, await presigned(api, "PUT", mine, credential=reader))


async def test_snapshot_urls_of_an_unknown_session(api: ContractApi) -> None:
    ghost = api.ext("ghost")
    read = await presigned(api, "GET", ghost)
    assert read.status_code == 404
    api.observe(
        "retrieve_not_found_deployed_style",
        documented=read.json() == {"error": "Session not found"},
        deployed=read.json() == {"error": "Not found"}
        and read.headers.get("x-should-retry") == "false",
    )
    write = await presigned(api, "PUT", ghost)
    assert write.status_code == 404
    elsewhere = await sign(api, [f"write:sessions:{api.ext('another')}"])
    refused = await presigned(api, "PUT", ghost, credential=elsewhere)
    api.observe(
        "authorization_before_existence",
        documented=refused.status_code == 404 and write.json() == {"error": "Session not found"},
        deployed=refused.status_code == 403
        and refused.json() == SCOPE_ERROR
        and write.json() == {"error": "Resource not found"},
    )


@pytest.mark.mock_only
@pytest.mark.writes
async def test_a_presigned_url_works_for_its_method_for_five_minutes(api: ContractApi) -> None:
    ext = api.ext()
    await api.created_session(externalId=ext)
    await api.set_clock(set="2031-01-01T00:00:00Z", frozen=True)
    upload = (await presigned(api, "PUT", ext)).json()["presignedUrl"]
    as_get = await fetch(api, "GET", upload)
    assert as_get.status_code == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in as_get.content
    forged = upload.replace("X-Amz-Expires=300", "X-Amz-Expires=30000")
    assert (await fetch(api, "PUT", forged, b"{}")).status_code == 403
    await api.set_clock(advanceSeconds=299)
    assert (await fetch(api, "PUT", upload, b"{}")).status_code == 200
    await api.set_clock(advanceSeconds=1)
    lapsed = await fetch(api, "PUT", upload, b"{}")
    assert lapsed.status_code == 403
    assert b"Request has expired" in lapsed.content
    await api.set_clock(real=True)
