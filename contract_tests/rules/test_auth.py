"""Secret keys, public access tokens and scopes."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jwt
import pytest

from ..harness.client import ContractApi, new_key
from ..harness.expect import SCOPE_ERROR, out_of_scope

pytestmark = pytest.mark.anyio

OPERATIONS = [
    ("POST", "/api/v1/sessions"),
    ("GET", "/api/v1/sessions"),
    ("GET", "/api/v1/sessions/x"),
    ("PATCH", "/api/v1/sessions/x"),
    ("POST", "/api/v1/sessions/x/close"),
    ("POST", "/api/v1/auth/jwt/claims"),
]


def claims(env: str, scopes: list[str], *, seconds: int = 900, **extra: Any) -> dict[str, Any]:
    """The claims of a public token, as the SDK's auth.createPublicToken writes them."""
    now = int(time.time())
    return {
        "sub": env,
        "pub": True,
        "scopes": scopes,
        "iss": "https://id.trigger.dev",
        "aud": "https://api.trigger.dev",
        "exp": now + seconds,
        "iat": now,
        **extra,
    }


async def sign(api: ContractApi, scopes: list[str], *, seconds: int = 900) -> str:
    """A token signed with the test's key for its environment, as the SDK makes one."""
    payload = claims(await api.environment_id(), scopes, seconds=seconds)
    return jwt.encode(payload, api.key, algorithm="HS256")


CLAIMS_PATH = "/api/v1/auth/jwt/claims"
NO_HEADER_PROBLEM = {
    "title": "Unauthorized",
    "status": 401,
    "type": "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/401",
    "detail": "No authorization header provided",
    "error": "No authorization header provided",
}


def without_cors(response: httpx.Response) -> bool:
    return not any(name.startswith("access-control-") for name in response.headers)


def claims_refusal(api: ContractApi, response: httpx.Response, documented_error: str) -> None:
    """How the claims route refuses a credential, in either documented reading."""
    assert response.status_code == 401, response.text
    error = response.json()
    api.observe(
        "claims_refused_as_deployed",
        documented=error == {"error": documented_error} and not without_cors(response),
        deployed=error == {"error": "Invalid or Missing API key"} and without_cors(response),
    )


@pytest.mark.parametrize("header", [None, ""])
async def test_missing_credentials_get_401(api: ContractApi, header: str | None) -> None:
    headers = {"Origin": "http://app.example"}
    if header is not None:
        headers["Authorization"] = header
    for method, path in OPERATIONS:
        response = await api.client.request(method, path, headers=headers, json={})
        assert response.status_code == 401, (method, path)
        if path == CLAIMS_PATH:  # the middleware lets it through to the route
            assert response.json() == {"error": "Invalid or Missing API key"}
            continue
        api.observe(
            "missing_authorization_problem",
            documented=response.json() == {"error": "Invalid or Missing API key"},
            deployed=response.json() == NO_HEADER_PROBLEM
            and response.text.startswith('{\n  "title": "Unauthorized",')
            and response.headers["content-type"].startswith("application/problem+json")
            and without_cors(response),
        )


@pytest.mark.parametrize("key", ["nope", "tr_xyz_abc", "tr_dev_", "sk_live_123", "Bearer"])
async def test_malformed_secret_keys_get_401_invalid_api_key(api: ContractApi, key: str) -> None:
    for method, path in OPERATIONS:
        response = await api.request(
            method, path, credential=key, json={}, headers={"Origin": "http://app.example"}
        )
        if path == CLAIMS_PATH:
            claims_refusal(api, response, "Invalid API key")
            continue
        assert response.status_code == 401, (method, path)
        assert response.json() == {"error": "Invalid API key"}


async def test_the_bearer_prefix_is_optional(api: ContractApi) -> None:
    response = await api.client.get("/api/v1/sessions", headers={"Authorization": api.key})
    assert response.status_code == 200


@pytest.mark.writes
async def test_a_session_token_reads_its_session_under_either_name(api: ContractApi) -> None:
    external_id = api.ext()
    created = await api.created_session(externalId=external_id)
    for ref in (external_id, created["id"]):
        response = await api.retrieve(ref, credential=created["publicAccessToken"])
        assert response.status_code == 200
        assert response.json()["id"] == created["id"]


@pytest.mark.writes
async def test_a_session_token_reads_nothing_else(api: ContractApi) -> None:
    token = (await api.created_session(externalId=api.ext("mine")))["publicAccessToken"]
    theirs_name = api.ext("theirs")
    theirs = await api.created_session(externalId=theirs_name)
    out_of_scope(api, await api.retrieve(theirs_name, credential=token))
    out_of_scope(api, await api.retrieve(theirs["id"], credential=token))
    out_of_scope(api, await api.list(credential=token))
    assert (await api.retrieve(api.ext("unknown"), credential=token)).status_code == 404


@pytest.mark.writes
async def test_a_session_token_cannot_update_or_close(api: ContractApi) -> None:
    external_id = api.ext()
    token = (await api.created_session(externalId=external_id, tags=["a"]))["publicAccessToken"]
    for response in (
        await api.update(external_id, {"tags": ["b"]}, credential=token),
        await api.close(external_id, credential=token),
    ):
        api.observe(
            "public_token_operations",
            documented=response.status_code == 401
            and response.json() == {"error": "Invalid API key"},
            deployed=response.status_code == 403 and response.json() == SCOPE_ERROR,
        )
    row = (await api.retrieve(external_id)).json()
    assert row["tags"] == ["a"] and row["closedAt"] is None


@pytest.mark.writes
async def test_an_admin_token_on_update_and_close(api: ContractApi) -> None:
    external_id = api.ext()
    await api.created_session(externalId=external_id)
    token = await sign(api, [f"admin:sessions:{external_id}"])
    update = await api.update(external_id, {"tags": ["x"]}, credential=token)
    close = await api.close(external_id, credential=token)
    elsewhere = await api.close((await api.created_session())["id"], credential=token)
    api.observe(
        "public_token_operations",
        documented=update.status_code == close.status_code == elsewhere.status_code == 401
        and update.json() == {"error": "Invalid API key"},
        deployed=update.status_code == close.status_code == 200 and elsewhere.status_code == 403,
    )


@pytest.mark.writes
async def test_a_public_token_creating_a_session(api: ContractApi) -> None:
    external_id = api.ext()
    session_token = (await api.created_session(externalId=external_id))["publicAccessToken"]
    again = await api.create(credential=session_token, externalId=f"  {external_id} ")
    api.observe(
        "create_scope_names_session",
        documented=again.status_code == 200 and again.json().get("isCached") is True,
        deployed=again.status_code == 403 and again.json() == SCOPE_ERROR,
    )
    for scopes in (
        ["write:sessions"],
        [f"write:tasks:{api.task_identifier}"],
        ["write:all"],
        ["admin"],
    ):
        token = await sign(api, scopes)
        assert (await api.create(credential=token)).status_code == 201, scopes
    for scopes in (
        ["read:sessions"],
        ["write:tasks:another-task"],
        [f"trigger:tasks:{api.task_identifier}"],
    ):
        out_of_scope(api, await api.create(credential=await sign(api, scopes)))


@pytest.mark.writes
async def test_list_needs_a_scope_without_an_id(api: ContractApi) -> None:
    await api.created_session()
    for scopes in (["read:sessions"], ["read:all"], ["*:sessions"], ["admin"], ["read:tasks"]):
        token = await sign(api, scopes)
        assert (await api.list(credential=token)).status_code == 200, scopes
    task_token = await sign(api, [f"read:tasks:{api.task_identifier}"])
    out_of_scope(api, await api.list(credential=task_token))
    filtered = await api.list(
        {"filter[taskIdentifier]": api.task_identifier}, credential=task_token
    )
    assert filtered.status_code == 200 and len(filtered.json()["data"]) == 1


@pytest.mark.writes
async def test_write_does_not_grant_read(api: ContractApi) -> None:
    external_id = api.ext()
    await api.created_session(externalId=external_id)
    token = await sign(api, [f"write:sessions:{external_id}"])
    out_of_scope(api, await api.retrieve(external_id, credential=token))


@pytest.mark.writes
async def test_scope_ids_may_contain_colons(api: ContractApi) -> None:
    external_id = api.ext("org:1:chat:2")
    await api.created_session(externalId=external_id)
    token = await sign(api, [f"read:sessions:{external_id}"])
    assert (await api.retrieve(external_id, credential=token)).status_code == 200


@pytest.mark.writes
async def test_self_signed_tokens_like_the_sdk_makes_work(api: ContractApi) -> None:
    external_id = api.ext()
    created = await api.created_session(externalId=external_id)
    token = await sign(api, [f"read:sessions:{external_id}"], seconds=15 * 60)
    assert (await api.retrieve(created["id"], credential=token)).status_code == 200


async def test_tokens_that_fail_verification_get_401(api: ContractApi) -> None:
    now = int(time.time())
    base = claims(await api.environment_id(), ["read:sessions"])
    invalid = {
        "other key": jwt.encode(base, new_key(), algorithm="HS256"),
        "alg none": jwt.encode(base, None, algorithm="none"),
        "RS256 header": _forged(base, "RS256"),
        "wrong issuer": jwt.encode({**base, "iss": "https://evil"}, api.key, algorithm="HS256"),
        "wrong audience": jwt.encode({**base, "aud": "https://evil"}, api.key, algorithm="HS256"),
        "expired": jwt.encode({**base, "exp": now - 1}, api.key, algorithm="HS256"),
        "not yet valid": jwt.encode({**base, "nbf": now + 600}, api.key, algorithm="HS256"),
        "garbled": jwt.encode(base, api.key, algorithm="HS256")[:-4] + "AAAA",
    }
    for name, token in invalid.items():
        response = await api.list(credential=token)
        assert response.status_code == 401, name
        assert response.json() == {"error": "Public Access Token is invalid"}, name
    valid = jwt.encode(base, api.key, algorithm="HS256")
    assert (await api.list(credential=valid)).status_code == 200


async def test_public_tokens_signed_by_hs384_or_hs512(api: ContractApi) -> None:
    base = claims(await api.environment_id(), ["read:sessions"])
    answers = [
        await api.list(credential=jwt.encode(base, api.key, algorithm=algorithm))
        for algorithm in ("HS384", "HS512")
    ]
    statuses = [answer.status_code for answer in answers]
    refused = all(
        a.json() == {"error": "Public Access Token is invalid"}
        for a in answers
        if a.status_code == 401
    )
    api.observe(
        "jwt_algorithms",
        documented=statuses == [401, 401] and refused,
        deployed=statuses == [200, 200],
    )


def _forged(payload: dict[str, object], algorithm: str) -> str:
    """A token whose header names ``algorithm``, with a signature no key made."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = json.dumps({"alg": algorithm, "typ": "JWT"}).encode()
    return f"{part(header)}.{part(json.dumps(payload).encode())}.{part(b'x' * 256)}"


async def test_tokens_for_unknown_environments_or_without_pub_get_401(api: ContractApi) -> None:
    unknown = jwt.encode(claims("cnotanenvironment00000000", []), api.key, algorithm="HS256")
    response = await api.list(credential=unknown)
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid Public Access Token"}
    base = claims(await api.environment_id(), ["read:sessions"])
    not_public = {k: v for k, v in base.items() if k != "pub"}
    response = await api.list(credential=jwt.encode(not_public, api.key, algorithm="HS256"))
    assert response.status_code == 401 and response.json() == {"error": "Invalid API key"}


@pytest.mark.mock_only
async def test_session_tokens_expire_after_an_hour(api: ContractApi) -> None:
    external_id = api.ext()
    token = (await api.created_session(externalId=external_id))["publicAccessToken"]
    await api.set_clock(advanceSeconds=3590)
    assert (await api.retrieve(external_id, credential=token)).status_code == 200
    await api.set_clock(advanceSeconds=20)
    response = await api.retrieve(external_id, credential=token)
    assert response.status_code == 401
    assert response.json() == {"error": "Public Access Token is invalid"}


@pytest.mark.writes
async def test_jwt_claims_name_the_environment(api: ContractApi) -> None:
    env = await api.environment_id()
    response = await api.request("POST", "/api/v1/auth/jwt/claims")
    assert response.json() == {"sub": env, "pub": True}
    token = (await api.created_session())["publicAccessToken"]
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == env
    refused = await api.request(
        "POST", CLAIMS_PATH, credential=token, headers={"Origin": "http://app.example"}
    )
    claims_refusal(api, refused, "Invalid API key")


async def test_environments_have_their_own_ids(api: ContractApi, other_api: ContractApi) -> None:
    assert await api.environment_id() != await other_api.environment_id()


@pytest.mark.writes
async def test_a_public_token_acts_in_the_environment_that_signed_it(
    api: ContractApi, other_api: ContractApi
) -> None:
    external_id = api.ext()
    await api.created_session(externalId=external_id)
    theirs = await other_api.created_session(externalId=external_id)
    token = await sign(other_api, [f"read:sessions:{external_id}"])
    response = await api.retrieve(external_id, credential=token)
    assert response.status_code == 200
    assert response.json()["id"] == theirs["id"]
