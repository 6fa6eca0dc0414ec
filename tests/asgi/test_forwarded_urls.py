"""Every absolute URL the fake hands out follows where the client reached it: the request's
Host (a port mapping), or a trusted proxy's Forwarded / X-Forwarded-* headers
(--forwarded-allow-ips), never an untrusted peer's. (The parsing in detail:
tests/unit/test_forwarded.py.)"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Mapping
from urllib.parse import urlsplit

import httpx
import pytest

from mock_server.app import create_app
from mock_server.core.settings import Settings
from mock_server.server.cli import parse_settings
from tests.support import new_key, session_body

pytestmark = pytest.mark.anyio

LOCAL = ("127.0.0.1", 123)  # httpx's default peer, trusted by default
STRANGER = ("203.0.113.9", 5000)
PROXY_NET = ("10.1.2.3", 5000)
MAPPED = {"Host": "localhost:9000"}  # docker run -p 9000:8080: no proxy, just a port
BY_X = {**MAPPED, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "mock.example.com"}
BY_FORWARDED = {**MAPPED, "Forwarded": "for=1.2.3.4;proto=https;host=mock.example.com:8443"}


@contextlib.asynccontextmanager
async def fake(
    settings: Settings | None = None, peer: tuple[str, int] = LOCAL
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings or Settings())
    transport = httpx.ASGITransport(app=app, client=peer)
    auth = {"Authorization": f"Bearer {new_key()}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://fake", headers=auth) as c:
        yield c


async def s2_endpoint(client: httpx.AsyncClient, headers: Mapping[str, str]) -> str:
    opened = await client.put("/realtime/v1/sessions/chat-1/out", headers=headers)
    assert opened.status_code < 300, opened.text
    return opened.headers["x-s2-endpoint"]


# --- X-S2-Endpoint -----------------------------------------------------------------------


async def test_the_s2_endpoint_follows_the_host_through_a_port_mapping() -> None:
    async with fake() as client:
        assert await s2_endpoint(client, MAPPED) == "http://localhost:9000/s2/v1"
        assert await s2_endpoint(client, {}) == "http://fake/s2/v1"
        ipv6 = await s2_endpoint(client, {"Host": "[::1]:9000"})
        assert ipv6 == "http://[::1]:9000/s2/v1"
    async with fake(peer=STRANGER) as client:  # no proxy involved: anyone's Host counts
        assert await s2_endpoint(client, MAPPED) == "http://localhost:9000/s2/v1"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (BY_X, "https://mock.example.com/s2/v1"),
        (BY_FORWARDED, "https://mock.example.com:8443/s2/v1"),
        ({"Host": "mock.example.com", "X-Forwarded-Proto": "https"}, "https://mock.example.com/s2/v1"),
        ({**BY_X, "X-Forwarded-Port": "8443"}, "https://mock.example.com:8443/s2/v1"),
    ],
)  # fmt: skip
async def test_the_s2_endpoint_follows_a_trusted_proxy(
    headers: dict[str, str], expected: str
) -> None:
    async with fake() as client:
        assert await s2_endpoint(client, headers) == expected


@pytest.mark.parametrize("headers", [BY_X, BY_FORWARDED], ids=["x-forwarded", "forwarded"])
async def test_an_untrusted_peer_gets_its_host_whatever_it_claims(headers: dict[str, str]) -> None:
    async with fake(peer=STRANGER) as client:
        assert await s2_endpoint(client, headers) == "http://localhost:9000/s2/v1"


async def test_the_trusted_peers_are_the_settings() -> None:
    networks = Settings(forwarded_allow_ips=("10.0.0.0/8",))
    async with fake(networks, peer=PROXY_NET) as client:
        assert await s2_endpoint(client, BY_X) == "https://mock.example.com/s2/v1"
    async with fake(networks) as client:  # 127.0.0.1 is no longer among them
        assert await s2_endpoint(client, BY_X) == "http://localhost:9000/s2/v1"
    async with fake(Settings(forwarded_allow_ips=()), peer=LOCAL) as client:
        assert await s2_endpoint(client, BY_FORWARDED) == "http://localhost:9000/s2/v1"


async def test_a_star_on_the_command_line_or_in_the_environment_trusts_every_peer() -> None:
    by_cli = parse_settings(["serve", "--forwarded-allow-ips", "*"], {})
    by_env = parse_settings(["serve"], {"TRIGGER_MOCK_FORWARDED_ALLOW_IPS": "10.0.0.0/8"})
    async with fake(by_cli, peer=STRANGER) as client:
        assert await s2_endpoint(client, BY_FORWARDED) == "https://mock.example.com:8443/s2/v1"
    async with fake(by_env, peer=PROXY_NET) as client:
        assert await s2_endpoint(client, BY_X) == "https://mock.example.com/s2/v1"
    async with fake(by_env, peer=STRANGER) as client:
        assert await s2_endpoint(client, BY_X) == "http://localhost:9000/s2/v1"


# --- presigned snapshot URLs and waitpoint token URLs ------------------------------------


async def presigned(client: httpx.AsyncClient, method: str, headers: Mapping[str, str]) -> str:
    response = await client.request(method, "/api/v1/sessions/snap/snapshot-url", headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["presignedUrl"])


def on_the_fake(url: str) -> str:
    """The URL's path and query: what the proxy in front would pass on to the fake."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


@pytest.mark.parametrize(
    ("peer", "headers", "origin"),
    [
        (LOCAL, BY_X, "https://mock.example.com/"),
        (LOCAL, BY_FORWARDED, "https://mock.example.com:8443/"),
        (STRANGER, BY_X, "http://localhost:9000/"),
    ],
)
async def test_presigned_snapshot_urls_use_the_origin_and_still_work(
    peer: tuple[str, int], headers: dict[str, str], origin: str
) -> None:
    async with fake(peer=peer) as client:
        made = await client.post("/api/v1/sessions", json=session_body(externalId="snap"))
        assert made.status_code == 201, made.text
        upload, download = [await presigned(client, m, headers) for m in ("PUT", "GET")]
        assert upload.startswith(origin) and download.startswith(origin)
        no_key = {"Authorization": ""}
        stored = await client.put(on_the_fake(upload), content=b"snapshot", headers=no_key)
        assert stored.status_code == 200, stored.text
        got = await client.get(on_the_fake(download), headers=no_key)
        assert (got.status_code, got.content) == (200, b"snapshot")


@pytest.mark.parametrize(
    ("peer", "headers", "origin"),
    [
        (LOCAL, BY_X, "https://mock.example.com"),
        (LOCAL, BY_FORWARDED, "https://mock.example.com:8443"),
        (STRANGER, BY_FORWARDED, "http://localhost:9000"),
        (LOCAL, {}, "http://fake"),
    ],
)
async def test_the_waitpoint_token_url_uses_the_origin(
    peer: tuple[str, int], headers: dict[str, str], origin: str
) -> None:
    async with fake(peer=peer) as client:
        made = await client.post("/api/v1/sessions", json=session_body(externalId="chat-1"))
        run = made.json()["runId"]
        wait = {"session": "chat-1", "io": "in"}
        registered = await client.post(f"/api/v1/runs/{run}/session-streams/wait", json=wait)
        waitpoint = registered.json()["waitpointId"]
        read = await client.get(f"/api/v1/waitpoints/tokens/{waitpoint}", headers=headers)
        assert read.status_code == 200, read.text
        path = f"/api/v1/waitpoints/tokens/{waitpoint}/callback/[0-9a-f]{{64}}"
        pattern = re.escape(origin) + path
        assert re.fullmatch(pattern, read.json()["url"]), read.json()["url"]


# --- the journal: detail, cURL, HAR ------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "headers", "url"),
    [
        (LOCAL, BY_X, "https://mock.example.com/api/v1/sessions?page%5Bsize%5D=2"),
        (LOCAL, BY_FORWARDED, "https://mock.example.com:8443/api/v1/sessions?page%5Bsize%5D=2"),
        (STRANGER, BY_X, "http://localhost:9000/api/v1/sessions?page%5Bsize%5D=2"),
        (STRANGER, BY_FORWARDED, "http://localhost:9000/api/v1/sessions?page%5Bsize%5D=2"),
        (LOCAL, MAPPED, "http://localhost:9000/api/v1/sessions?page%5Bsize%5D=2"),
    ],
)
async def test_the_journal_gives_the_url_the_client_used(
    peer: tuple[str, int], headers: dict[str, str], url: str
) -> None:
    async with fake(Settings(agent="off"), peer=peer) as client:
        sent = await client.get("/api/v1/sessions", params={"page[size]": "2"}, headers=headers)
        assert sent.status_code == 200, sent.text
        entry = await client.get("/_mock/requests/1")
        assert entry.status_code == 200, entry.text
        assert entry.json()["url"] == url
        command = (await client.get("/_mock/requests/1/curl")).json()["curl"]
        assert f" '{url}'" in command
        log = (await client.get("/_mock/requests/har")).json()["log"]
        assert [e["request"]["url"] for e in log["entries"]] == [url]
