"""Secret keys, public access tokens and scopes over HTTP."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from tests.support import Api, new_key

pytestmark = pytest.mark.anyio

SCOPE_ERROR = {
    "error": "Unauthorized",
    "code": "unauthorized",
    "param": "access_token",
    "type": "authorization",
}
OPERATIONS = [
    ("POST", "/api/v1/sessions"),
    ("GET", "/api/v1/sessions"),
    ("GET", "/api/v1/sessions/x"),
    ("PATCH", "/api/v1/sessions/x"),
    ("POST", "/api/v1/sessions/x/close"),
    ("POST", "/api/v1/auth/jwt/claims"),
]


async def environment_id(api: Api) -> str:
    response = await api.request("POST", "/api/v1/auth/jwt/claims")
    assert response.status_code == 200
    return str(response.json()["sub"])


async def sign(
    api: Api, scopes: list[str], *, seconds: int = 900, key: str | None = None, **claims: Any
) -> str:
    """A token the way the SDK's auth.createPublicToken makes one."""
    now = int(time.time())
    payload = {
        "sub": await environment_id(api),
        "pub": True,
        "scopes": scopes,
        "iss": "https://id.trigger.dev",
        "aud": "https://api.trigger.dev",
        "exp": now + seconds,
        "iat": now,
    }
    payload.update(claims)
    return jwt.encode(payload, key or api.key, algorithm="HS256")


def refused(api: Api, response: Any) -> None:
    """A valid public token without the scope this call needs."""
    assert response.status_code == (403 if api.deployed else 401), response.text
    assert response.json() == SCOPE_ERROR


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
@pytest.mark.parametrize("header", [None, ""])
async def test_missing_credentials_get_401(
    api: Api, method: str, path: str, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = await api.client.request(method, path, headers=headers, json={})
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid or Missing API key"}


@pytest.mark.parametrize(
    "key", ["nope", "tr_xyz_abc", "tr_dev_", "sk_live_123", "tr_dev_a b", "Bearer"]
)
async def test_malformed_secret_keys_get_401_invalid_api_key(api: Api, key: str) -> None:
    for method, path in OPERATIONS:
        response = await api.request(method, path, credential=key, json={})
        assert response.status_code == 401, (method, path)
        assert response.json() == {"error": "Invalid API key"}


async def test_every_key_kind_is_accepted(api: Api) -> None:
    for kind in ("dev", "stg", "prod", "preview"):
        response = await api.create(credential=new_key(kind))
        assert response.status_code == 201


async def test_the_bearer_prefix_is_optional(api: Api) -> None:
    response = await api.client.get("/api/v1/sessions", headers={"Authorization": api.key})
    assert response.status_code == 200


async def test_a_session_token_reads_its_session_under_either_name(api: Api) -> None:
    created = await api.created(externalId="mine")
    token = created["publicAccessToken"]
    for ref in ("mine", created["id"]):
        response = await api.retrieve(ref, credential=token)
        assert response.status_code == 200
        assert response.json()["id"] == created["id"]


async def test_a_session_token_reads_nothing_else(api: Api) -> None:
    token = (await api.created(externalId="mine"))["publicAccessToken"]
    theirs = await api.created(externalId="theirs")
    refused(api, await api.retrieve("theirs", credential=token))
    refused(api, await api.retrieve(theirs["id"], credential=token))
    refused(api, await api.list(credential=token))
    assert (await api.retrieve("unknown", credential=token)).status_code == 404


async def test_a_session_token_cannot_update_or_close(api: Api) -> None:
    token = (await api.created(externalId="mine", tags=["a"]))["publicAccessToken"]
    for response in (
        await api.update("mine", {"tags": ["b"]}, credential=token),
        await api.close("mine", credential=token),
    ):
        if api.deployed:
            assert response.status_code == 403
            assert response.json() == SCOPE_ERROR
        else:
            assert response.status_code == 401
            assert response.json() == {"error": "Invalid API key"}
    row = (await api.retrieve("mine")).json()
    assert row["tags"] == ["a"] and row["closedAt"] is None


async def test_an_admin_token_may_update_only_where_the_deployed_server_allows_it(api: Api) -> None:
    await api.created(externalId="adm")
    token = await sign(api, ["admin:sessions:adm"])
    update = await api.update("adm", {"tags": ["x"]}, credential=token)
    close = await api.close("adm", credential=token)
    if api.deployed:
        assert update.status_code == 200 and close.status_code == 200
        created = (await api.created())["id"]
        refused(api, await api.close(created, credential=token))
    else:
        assert update.status_code == close.status_code == 401
        assert update.json() == {"error": "Invalid API key"}


async def test_a_public_token_creating_a_session(api: Api) -> None:
    session_token = (await api.created(externalId="k"))["publicAccessToken"]
    again = await api.create(credential=session_token, externalId="  k ")
    if api.deployed:
        refused(api, again)
    else:
        assert again.status_code == 200 and again.json()["isCached"] is True
    for scopes in (["write:sessions"], ["write:tasks:my-chat"], ["write:all"], ["admin"]):
        token = await sign(api, scopes)
        assert (await api.create(credential=token)).status_code == 201, scopes
    for scopes in (["read:sessions"], ["write:tasks:other-task"], ["trigger:tasks:my-chat"]):
        refused(api, await api.create(credential=await sign(api, scopes)))


async def test_list_needs_a_scope_without_an_id(api: Api) -> None:
    await api.created(taskIdentifier="my-chat")
    for scopes in (["read:sessions"], ["read:all"], ["*:sessions"], ["admin"], ["read:tasks"]):
        token = await sign(api, scopes)
        assert (await api.list(credential=token)).status_code == 200, scopes
    task_token = await sign(api, ["read:tasks:my-chat"])
    refused(api, await api.list(credential=task_token))
    filtered = await api.list({"filter[taskIdentifier]": "my-chat"}, credential=task_token)
    assert filtered.status_code == 200 and len(filtered.json()["data"]) == 1


async def test_write_does_not_grant_read(api: Api) -> None:
    await api.created(externalId="w")
    refused(api, await api.retrieve("w", credential=await sign(api, ["write:sessions:w"])))


async def test_scope_ids_may_contain_colons(api: Api) -> None:
    await api.created(externalId="org:1:chat:2")
    token = await sign(api, ["read:sessions:org:1:chat:2"])
    assert (await api.retrieve("org:1:chat:2", credential=token)).status_code == 200


async def test_sdk_style_self_signed_tokens_work(api: Api) -> None:
    created = await api.created(externalId="sdk")
    token = await sign(api, ["read:sessions:sdk"], seconds=15 * 60)
    assert (await api.retrieve(created["id"], credential=token)).status_code == 200


async def test_tokens_that_fail_verification_get_401(api: Api) -> None:
    await api.created(externalId="v")
    env = await environment_id(api)
    now = int(time.time())
    base = {
        "sub": env,
        "pub": True,
        "scopes": ["read:sessions:v"],
        "iss": "https://id.trigger.dev",
        "aud": "https://api.trigger.dev",
        "exp": now + 600,
        "iat": now,
    }
    invalid = {
        "other key": jwt.encode(base, new_key(), algorithm="HS256"),
        "alg none": jwt.encode(base, None, algorithm="none"),
        "HS512": jwt.encode(base, api.key, algorithm="HS512"),
        "wrong issuer": jwt.encode({**base, "iss": "https://evil"}, api.key, algorithm="HS256"),
        "wrong audience": jwt.encode({**base, "aud": "https://evil"}, api.key, algorithm="HS256"),
        "expired": jwt.encode({**base, "exp": now - 1}, api.key, algorithm="HS256"),
        "not yet valid": jwt.encode({**base, "nbf": now + 600}, api.key, algorithm="HS256"),
        "garbled": jwt.encode(base, api.key, algorithm="HS256")[:-4] + "AAAA",
    }
    for name, token in invalid.items():
        response = await api.retrieve("v", credential=token)
        assert response.status_code == 401, name
        assert response.json() == {"error": "Public Access Token is invalid"}, name
    unknown_env = jwt.encode(
        {**base, "sub": "cnotanenvironment00000000"}, api.key, algorithm="HS256"
    )
    response = await api.retrieve("v", credential=unknown_env)
    assert response.json() == {"error": "Invalid Public Access Token"}
    not_public = jwt.encode(
        {k: v for k, v in base.items() if k != "pub"}, api.key, algorithm="HS256"
    )
    response = await api.retrieve("v", credential=not_public)
    assert response.status_code == 401 and response.json() == {"error": "Invalid API key"}


async def test_session_tokens_expire_after_an_hour_of_fake_time(api: Api) -> None:
    token = (await api.created(externalId="h"))["publicAccessToken"]
    await api.set_clock(advanceSeconds=3590)
    assert (await api.retrieve("h", credential=token)).status_code == 200
    await api.set_clock(advanceSeconds=20)
    response = await api.retrieve("h", credential=token)
    assert response.status_code == 401
    assert response.json() == {"error": "Public Access Token is invalid"}


async def test_jwt_claims_name_the_environment(api: Api, other: Api) -> None:
    mine, theirs = await environment_id(api), await environment_id(other)
    assert mine != theirs
    response = await api.request("POST", "/api/v1/auth/jwt/claims")
    assert response.json() == {"sub": mine, "pub": True}
    token = (await api.created())["publicAccessToken"]
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == mine
    refused_claims = await api.request("POST", "/api/v1/auth/jwt/claims", credential=token)
    assert refused_claims.status_code == 401
    assert refused_claims.json() == {"error": "Invalid API key"}


async def test_a_public_token_acts_in_the_environment_that_signed_it(api: Api, other: Api) -> None:
    await api.created(externalId="same")
    await other.created(externalId="same")
    token = await sign(other, ["read:sessions:same"])
    response = await api.retrieve("same", credential=token)
    assert response.status_code == 200
    assert response.json()["id"] == (await other.retrieve("same")).json()["id"]
