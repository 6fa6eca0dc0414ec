"""``POST /api/v1/auth/public-tokens``: the server mints public tokens for keys that cannot
sign their own (the SDK calls it for restricted keys). A target's root key may ask for any
scopes, so these rules run on any target."""

from __future__ import annotations

import jwt
import pytest

from ..harness.client import ContractApi

pytestmark = pytest.mark.anyio

MINT = "/api/v1/auth/public-tokens"


@pytest.mark.writes
async def test_a_minted_token_reads_what_its_scopes_name(api: ContractApi) -> None:
    ext = api.ext()
    created = await api.created_session(externalId=ext)
    minted = await api.request(
        "POST", MINT, json={"scopes": [f"read:sessions:{ext}"], "expirationTime": "10m"}
    )
    assert minted.status_code == 200, minted.text
    token = minted.json()["token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["scopes"] == [f"read:sessions:{ext}"]
    assert claims["sub"] == await api.environment_id()
    assert claims["exp"] - claims["iat"] == 600
    assert (await api.retrieve(ext, credential=token)).json()["id"] == created["id"]
    assert (await api.close(ext, credential=token)).status_code in (401, 403)


async def test_mint_requests_are_checked_in_the_routes_words(api: ContractApi) -> None:
    empty = await api.request("POST", MINT, json={"scopes": []})
    assert empty.status_code == 400
    assert empty.json()["error"] == "Invalid request body"
    assert empty.json()["issues"]
    too_long = await api.request(
        "POST", MINT, json={"scopes": ["read:sessions"], "expirationTime": "31d"}
    )
    assert too_long.status_code == 400
    assert too_long.json() == {"error": "Expiration time cannot exceed 30 days"}
    past = await api.request("POST", MINT, json={"scopes": ["read:sessions"], "expirationTime": 1})
    assert past.json() == {"error": "Expiration time must be in the future"}
