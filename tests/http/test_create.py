"""POST /api/v1/sessions: creation, idempotency on externalId, tokens, body rules."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from tests.support import ROW_KEYS, Api

pytestmark = pytest.mark.anyio

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def token_claims(token: str, key: str) -> dict[str, Any]:
    return jwt.decode(
        token,
        key,
        algorithms=["HS256"],
        audience="https://api.trigger.dev",
        issuer="https://id.trigger.dev",
        options={"verify_exp": False, "verify_iat": False},
    )


async def test_create_returns_201_with_the_row_in_wire_order(api: Api) -> None:
    response = await api.create(
        externalId="chat-1",
        tags=["user:1"],
        metadata={"plan": "pro"},
        triggerConfig={
            "basePayload": {"chatId": "chat-1"},
            "machine": "small-1x",
            "maxAttempts": 3,
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert list(body) == [*ROW_KEYS, "runId", "publicAccessToken", "isCached"]
    assert re.fullmatch(r"session_c[0-9a-z]{24}", body["id"])
    assert re.fullmatch(r"run_[0-9a-v]{26}", body["runId"])
    assert body["currentRunId"] == body["runId"]
    assert body["externalId"] == "chat-1"
    assert body["tags"] == ["user:1"]
    assert body["metadata"] == {"plan": "pro"}
    assert body["triggerConfig"] == {
        "basePayload": {"chatId": "chat-1"},
        "machine": "small-1x",
        "maxAttempts": 3,
    }
    assert body["closedAt"] is None and body["closedReason"] is None and body["expiresAt"] is None
    assert ISO_MS.match(body["createdAt"]) and body["createdAt"] == body["updatedAt"]
    assert body["isCached"] is False


async def test_unknown_body_keys_are_dropped(api: Api) -> None:
    response = await api.create(
        surprise=1, triggerConfig={"basePayload": {"keep": {"nested": 1}}, "surprise": 2}
    )
    assert response.status_code == 201
    assert "surprise" not in response.json()
    assert response.json()["triggerConfig"] == {"basePayload": {"keep": {"nested": 1}}}


async def test_create_without_external_id_always_makes_a_new_session(api: Api) -> None:
    first, second = await api.created(), await api.created()
    assert first["id"] != second["id"]
    assert first["externalId"] is None and second["isCached"] is False


async def test_repeating_create_with_an_open_external_id_returns_200_and_is_cached(
    api: Api,
) -> None:
    first = await api.created(externalId="same", tags=["a"])
    await api.set_clock(advanceSeconds=2)
    again = await api.create(externalId="same", tags=["b"], metadata={"m": 1})
    assert again.status_code == 200
    body = again.json()
    assert body["isCached"] is True
    assert body["id"] == first["id"]
    assert body["runId"] == first["runId"] == body["currentRunId"]
    assert body["tags"] == ["a"] and body["metadata"] is None
    assert body["publicAccessToken"] != first["publicAccessToken"]
    assert token_claims(body["publicAccessToken"], api.key)["iat"] >= (
        token_claims(first["publicAccessToken"], api.key)["iat"] + 2
    )


async def test_cached_create_refreshes_trigger_config_only_when_following_deployed(
    api: Api,
) -> None:
    first = await api.created(externalId="cfg", triggerConfig={"basePayload": {"v": 1}})
    await api.set_clock(advanceSeconds=1)
    again = (await api.create(externalId="cfg", triggerConfig={"basePayload": {"v": 2}})).json()
    stored = (await api.retrieve("cfg")).json()
    if api.deployed:
        assert again["triggerConfig"] == stored["triggerConfig"] == {"basePayload": {"v": 2}}
        assert again["updatedAt"] > first["updatedAt"]
    else:
        assert again["triggerConfig"] == stored["triggerConfig"] == {"basePayload": {"v": 1}}
        assert again["updatedAt"] == first["updatedAt"]


async def test_reusing_a_closed_external_id_returns_409(api: Api) -> None:
    await api.created(externalId="done")
    assert (await api.close("done", {"reason": "finished"})).status_code == 200
    response = await api.create(externalId="done")
    assert response.status_code == 409
    assert response.json() == {
        "error": "Session is closed; use a different externalId to create a new session"
    }
    assert "x-should-retry" not in response.headers


async def test_reusing_an_expired_external_id_returns_409(api: Api) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=30)
    await api.created(externalId="brief", expiresAt=soon.isoformat())
    await api.set_clock(advanceSeconds=60)
    response = await api.create(externalId="brief")
    assert response.status_code == 409
    assert response.json() == {
        "error": "Session is expired; use a different externalId to create a new session"
    }


async def test_create_with_expires_at_in_the_past_is_refused_and_stores_nothing(api: Api) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    response = await api.create(externalId="late", expiresAt=past)
    assert response.status_code == 409
    assert "is expired" in response.json()["error"]
    assert (await api.list()).json()["data"] == []


async def test_expires_at_is_stored_with_milliseconds(api: Api) -> None:
    body = await api.created(expiresAt="2099-01-02T03:04:05.678+01:00")
    assert body["expiresAt"] == "2099-01-02T02:04:05.678Z"


async def test_external_id_is_trimmed(api: Api) -> None:
    body = await api.created(externalId="  padded\t")
    assert body["externalId"] == "padded"
    assert (await api.create(externalId="padded")).json()["id"] == body["id"]


async def test_external_id_with_the_reserved_prefix_is_rejected(api: Api) -> None:
    for external_id in ("session_x", "  session_x"):
        response = await api.create(externalId=external_id)
        message = (
            "externalId cannot start with 'session_' (reserved prefix for internal friendlyIds)"
        )
        if api.deployed:
            assert response.status_code == 400
            assert response.json() == {"error": f'Validation error: {message} at "externalId"'}
        else:
            assert response.status_code == 422
            assert response.json()["details"] == [
                {"code": "custom", "message": message, "path": ["externalId"]}
            ]
    assert (await api.list()).json()["data"] == []


async def test_blank_external_id_is_rejected(api: Api) -> None:
    for blank in ("", "   "):
        response = await api.create(externalId=blank)
        assert response.status_code == (400 if api.deployed else 422)
        assert "String must contain at least 1 character(s)" in response.json()["error"]


async def test_every_schema_violation_is_reported(api: Api) -> None:
    response = await api.request(
        "POST",
        "/api/v1/sessions",
        json={"type": "", "tags": ["x" * 129], "triggerConfig": {"basePayload": []}},
    )
    expected = [
        ("invalid_type", "Required", ["taskIdentifier"]),
        ("too_small", "String must contain at least 1 character(s)", ["type"]),
        ("invalid_type", "Expected object, received array", ["triggerConfig", "basePayload"]),
        ("too_big", "String must contain at most 128 character(s)", ["tags", 0]),
    ]
    if api.deployed:
        assert response.status_code == 400
        message = response.json()["error"]
        assert message.startswith("Validation error: ")
        assert 'Required at "taskIdentifier"' in message
        assert 'String must contain at most 128 character(s) at "tags[0]"' in message
        assert 'Expected object, received array at "triggerConfig.basePayload"' in message
    else:
        assert response.status_code == 422
        details = response.json()["details"]
        assert sorted((d["code"], d["message"], d["path"]) for d in details) == sorted(expected)


async def test_trigger_config_tags_allow_ten_and_no_more(api: Api) -> None:
    ten = [f"t{i}" for i in range(10)]
    ok = await api.create(triggerConfig={"basePayload": {}, "tags": ten})
    assert ok.status_code == 201
    too_many = await api.create(triggerConfig={"basePayload": {}, "tags": [*ten, "t10"]})
    assert too_many.status_code == (400 if api.deployed else 422)
    assert "Array must contain at most 10 element(s)" in too_many.json()["error"]


async def test_machine_must_be_a_known_preset(api: Api) -> None:
    response = await api.create(triggerConfig={"basePayload": {}, "machine": "huge"})
    assert response.status_code == (400 if api.deployed else 422)
    assert "Invalid enum value. Expected 'micro' | 'small-1x'" in response.json()["error"]


async def test_numeric_limits_follow_the_spec(api: Api) -> None:
    for config in (
        {"maxAttempts": 11},
        {"maxAttempts": 0},
        {"idleTimeoutInSeconds": 3601},
        {"maxDuration": 1.5},
    ):
        response = await api.create(triggerConfig={"basePayload": {}, **config})
        assert response.status_code == (400 if api.deployed else 422), config
    assert (await api.list()).json()["data"] == []


async def test_session_token_is_a_one_hour_hs256_jwt_for_the_external_id(api: Api) -> None:
    body = await api.created(externalId="tok")
    token = body["publicAccessToken"]
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "HS256"}
    claims = token_claims(token, api.key)
    env = (await api.request("POST", "/api/v1/auth/jwt/claims")).json()["sub"]
    assert list(claims) == ["sub", "pub", "scopes", "iss", "aud", "exp", "iat"]
    assert claims["sub"] == env and claims["pub"] is True
    assert claims["scopes"] == ["read:sessions:tok", "write:sessions:tok"]
    assert claims["exp"] - claims["iat"] == 3600


async def test_session_token_names_the_session_id_without_an_external_id(api: Api) -> None:
    body = await api.created()
    claims = token_claims(body["publicAccessToken"], api.key)
    assert claims["scopes"] == [f"read:sessions:{body['id']}", f"write:sessions:{body['id']}"]


async def test_each_secret_key_is_its_own_environment(api: Api, other: Api) -> None:
    mine = await api.created(externalId="shared-name")
    theirs = await other.created(externalId="shared-name")
    assert mine["id"] != theirs["id"]
    assert (await other.retrieve(mine["id"])).status_code == 404
    assert [row["id"] for row in (await other.list()).json()["data"]] == [theirs["id"]]


async def test_token_times_follow_the_fake_clock(api: Api) -> None:
    await api.set_clock(set="2030-01-01T00:00:00.000Z", frozen=True)
    body = await api.created()
    assert body["createdAt"] == "2030-01-01T00:00:00.000Z"
    claims = token_claims(body["publicAccessToken"], api.key)
    assert claims["iat"] == int(datetime(2030, 1, 1, tzinfo=UTC).timestamp())
