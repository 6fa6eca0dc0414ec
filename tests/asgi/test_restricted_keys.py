"""Restricted keys and the server-side token mint (both modes): a ``tr_dev_sk_…`` key
declared with scopes acts in its root key's environment within those scopes, and
``POST /api/v1/auth/public-tokens`` mints tokens inside them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from mock_server.app import create_app
from mock_server.auth.environments import Environments, parse_key_spec
from mock_server.control.seeding import Seed, SeedFileError
from mock_server.core.fidelity import Behaviour, Fidelity
from mock_server.core.settings import Settings
from mock_server.core.specs import api_spec_for
from mock_server.server.cli import parse_settings
from tests.support import asgi_client, session_body

pytestmark = pytest.mark.anyio

ROOT = "tr_dev_rootForRestricted"
RESTRICTED = "tr_dev_sk_abcdefghijklmnopqrstuvwx"
SCOPES = "write:tasks:my-chat,read:sessions,write:sessions:chat-1"
SCOPE_ERROR = {
    "error": "Unauthorized",
    "code": "unauthorized",
    "param": "access_token",
    "type": "authorization",
}


@pytest.fixture(params=[Fidelity.DOCUMENTED, Fidelity.DEPLOYED], ids=lambda f: f.value)
async def client(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(fidelity=request.param, secret_keys=(ROOT, f"{RESTRICTED}={SCOPES}"))
    async with asgi_client(create_app(settings), RESTRICTED) as opened:
        yield opened


def as_(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


async def mint(client: httpx.AsyncClient, body: Any, credential: str = RESTRICTED) -> Any:
    return await client.post("/api/v1/auth/public-tokens", json=body, headers=as_(credential))


async def test_a_restricted_key_acts_in_its_roots_environment_within_its_scopes(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post("/api/v1/sessions", json=session_body(externalId="chat-1"))
    assert created.status_code == 201
    # The root key sees what the restricted key made: one environment.
    assert (await client.get("/api/v1/sessions/chat-1", headers=as_(ROOT))).status_code == 200
    assert (await client.get("/api/v1/sessions/chat-1")).status_code == 200
    appended = await client.post("/realtime/v1/sessions/chat-1/in/append", content="{}")
    assert appended.status_code == 200
    # Outside the scopes: 403 in both modes (the docs' 401 is about public tokens).
    other_task = await client.post(
        "/api/v1/sessions", json=session_body(externalId="chat-2", taskIdentifier="other")
    )
    assert other_task.status_code == 403
    assert other_task.json() == SCOPE_ERROR
    closing = await client.post("/api/v1/sessions/chat-1/close", json={})
    assert closing.status_code == 403
    await client.post("/api/v1/sessions", json=session_body(externalId="chat-3"), headers=as_(ROOT))
    refused = await client.post("/realtime/v1/sessions/chat-3/in/append", content="{}")
    assert refused.status_code == 403


async def test_a_minted_token_carries_the_scopes_asked_for(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/sessions", json=session_body(externalId="chat-1"))
    minted = await mint(client, {"scopes": ["read:sessions:chat-1"], "expirationTime": "2 hours"})
    assert minted.status_code == 200, minted.text
    token = minted.json()["token"]
    claims = jwt.decode(token, ROOT, algorithms=["HS256"], audience="https://api.trigger.dev")
    assert claims["scopes"] == ["read:sessions:chat-1"]
    assert claims["exp"] - claims["iat"] == 7200
    assert claims["pub"] is True
    assert (await client.get("/api/v1/sessions/chat-1", headers=as_(token))).status_code == 200
    default = jwt.decode(
        (await mint(client, {"scopes": ["read:sessions"], "oneTimeUse": True})).json()["token"],
        options={"verify_signature": False},
    )
    assert default["exp"] - default["iat"] == 15 * 60
    assert default["otu"] is True


async def test_scopes_beyond_the_key_are_listed(client: httpx.AsyncClient) -> None:
    asked = ["read:sessions:chat-1", "write:sessions:chat-2", "admin", "write:tasks"]
    refused = await mint(client, {"scopes": asked})
    assert refused.status_code == 403
    assert refused.json() == {
        "error": "Requested scopes exceed the API key's access",
        "code": "scopes_exceed_key_access",
        "deniedScopes": ["write:sessions:chat-2", "admin", "write:tasks"],
    }
    # A root key may ask for anything.
    assert (await mint(client, {"scopes": ["admin"]}, credential=ROOT)).status_code == 200


NOT_FUTURE = "Expiration time must be in the future"


@pytest.mark.parametrize(
    ("body", "answer"),
    [
        ({"scopes": []}, "Invalid request body"),
        ({"scopes": "read:sessions"}, "Invalid request body"),
        ({}, "Invalid request body"),
        ({"expirationTime": "soon"}, "Invalid expiration time"),
        ({"expirationTime": "-5m from now"}, "Invalid expiration time"),
        ({"expirationTime": "5m ago"}, NOT_FUTURE),
        ({"expirationTime": 1}, NOT_FUTURE),
        ({"expirationTime": "31d"}, "Expiration time cannot exceed 30 days"),
    ],
)
async def test_bad_mint_requests_are_400_in_the_routes_words(
    client: httpx.AsyncClient, body: dict[str, Any], answer: str
) -> None:
    if "expirationTime" in body:
        body = {"scopes": ["read:sessions"], **body}
    refused = await mint(client, body)
    assert refused.status_code == 400
    assert refused.json()["error"] == answer
    if answer == "Invalid request body":
        assert refused.json()["issues"]


async def test_unreadable_bodies_and_public_tokens_cannot_mint(client: httpx.AsyncClient) -> None:
    unread = await client.post("/api/v1/auth/public-tokens", content=b"{not json")
    assert unread.status_code == 400
    assert unread.json() == {"error": "Invalid request body"}
    token = (await mint(client, {"scopes": ["read:sessions"]})).json()["token"]
    assert (await mint(client, {"scopes": ["read:sessions"]}, credential=token)).status_code == 401


def test_key_specs_are_checked() -> None:
    assert parse_key_spec(f"{RESTRICTED}=read:sessions,admin") == (
        RESTRICTED,
        ("read:sessions", "admin"),
    )
    with pytest.raises(ValueError, match="tr_dev_sk_"):
        parse_key_spec("tr_dev_short=read:sessions")
    with pytest.raises(ValueError, match="scopes"):
        parse_key_spec(f"{RESTRICTED}=")
    # Only restricted keys declared: other keys are still accepted, each its own.
    open_envs = Environments([f"{RESTRICTED}=read:sessions"])
    assert open_envs.is_open
    assert open_envs.by_key("tr_dev_anything").id != open_envs.by_key(RESTRICTED).id


def test_the_cli_reads_scoped_keys_from_the_environment_variable() -> None:
    environ = {"TRIGGER_MOCK_SECRET_KEY": f"{ROOT},{RESTRICTED}=read:sessions,write:tasks"}
    settings = parse_settings(["serve"], environ)
    assert settings.secret_keys == (ROOT, f"{RESTRICTED}=read:sessions,write:tasks")


async def test_a_seed_file_declares_restricted_keys(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        f"environments:\n  {ROOT}:\n    restrictedKeys:\n      {RESTRICTED}: [read:sessions]\n"
        "    sessions:\n      - {type: chat.agent, externalId: seeded, taskIdentifier: t,"
        " triggerConfig: {basePayload: {}}}\n",
        encoding="utf-8",
    )
    app = create_app(Settings(seed_file=str(seed)))
    async with asgi_client(app, RESTRICTED) as client:
        assert (await client.get("/api/v1/sessions/seeded")).status_code == 200
        refused = await client.post("/api/v1/sessions", json=session_body())
        assert refused.status_code == 403
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"environments:\n  {ROOT}:\n    restrictedKeys:\n      tr_dev_x: [read:sessions]\n"
        "    sessions: []\n",
        encoding="utf-8",
    )
    with pytest.raises(SeedFileError, match="restrictedKeys"):
        Seed.load(bad, api_spec_for(Behaviour.of(Fidelity.DOCUMENTED)))


async def test_the_control_plane_makes_restricted_keys_until_a_full_reset() -> None:
    async with asgi_client(create_app(Settings()), ROOT) as client:
        made = await client.post(
            "/_mock/restricted-keys", json={"environment": ROOT, "scopes": ["read:sessions"]}
        )
        assert made.status_code == 201, made.text
        key = made.json()["key"]
        assert parse_key_spec(f"{key}=read:sessions")[0] == key  # the SDK's shape
        await client.post("/api/v1/sessions", json=session_body(externalId="mine"))
        assert (await client.get("/api/v1/sessions/mine", headers=as_(key))).status_code == 200
        refused = await client.post("/api/v1/sessions", json=session_body(), headers=as_(key))
        assert refused.status_code == 403
        by_id = await client.post(
            "/_mock/restricted-keys",
            json={"environment": made.json()["environment"], "scopes": ["admin"]},
        )
        assert by_id.status_code == 201
        for bad, status in (
            ({"environment": "c000000000000000000000000", "scopes": ["admin"]}, 404),
            ({"environment": ROOT, "scopes": ["two words"]}, 422),
            ({"environment": ROOT, "scopes": []}, 422),
        ):
            assert (await client.post("/_mock/restricted-keys", json=bad)).status_code == status
        await client.post("/_mock/reset")
        # Gone with the reset; in an open fake it is then just another (whole) key.
        after = await client.get("/api/v1/sessions/mine", headers=as_(key))
        assert after.status_code == 404
