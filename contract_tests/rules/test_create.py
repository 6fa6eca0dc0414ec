"""POST /api/v1/sessions: creation, idempotency on externalId, tokens, body rules."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from ..harness.client import ContractApi
from ..harness.expect import invalid

pytestmark = [pytest.mark.anyio, pytest.mark.writes]

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
ROW_KEYS = [
    "id",
    "externalId",
    "type",
    "taskIdentifier",
    "triggerConfig",
    "currentRunId",
    "tags",
    "metadata",
    "closedAt",
    "closedReason",
    "expiresAt",
    "createdAt",
    "updatedAt",
]
"""A session row's keys, in the order the API sends them."""


def token_claims(token: str, key: str) -> dict[str, Any]:
    return jwt.decode(
        token,
        key,
        algorithms=["HS256"],
        audience="https://api.trigger.dev",
        issuer="https://id.trigger.dev",
        options={"verify_exp": False, "verify_iat": False},
    )


async def test_create_returns_201_with_the_row_in_wire_order(api: ContractApi) -> None:
    external_id = api.ext()
    response = await api.create(
        externalId=external_id,
        tags=["user:1"],
        metadata={"plan": "pro"},
        triggerConfig={"basePayload": {"chatId": "c"}, "machine": "small-1x", "maxAttempts": 3},
    )
    assert response.status_code == 201
    body = response.json()
    assert list(body) == [*ROW_KEYS, "runId", "publicAccessToken", "isCached"]
    assert re.fullmatch(r"session_c[0-9a-z]{24}", body["id"])
    assert body["runId"].startswith("run_") and body["currentRunId"] == body["runId"]
    assert body["externalId"] == external_id and body["type"] == api.naming.type
    assert body["tags"] == ["user:1"] and body["metadata"] == {"plan": "pro"}
    assert body["triggerConfig"] == {
        "basePayload": {"chatId": "c"},
        "machine": "small-1x",
        "maxAttempts": 3,
        "tags": [api.naming.run_tag],
    }
    assert body["closedAt"] is None and body["closedReason"] is None and body["expiresAt"] is None
    assert ISO_MS.match(body["createdAt"]) and ISO_MS.match(body["updatedAt"])
    assert body["isCached"] is False


async def test_unknown_body_keys_are_dropped(api: ContractApi) -> None:
    response = await api.create(
        surprise=1, triggerConfig={"basePayload": {"keep": {"nested": 1}}, "surprise": 2}
    )
    assert response.status_code == 201
    assert "surprise" not in response.json()
    assert response.json()["triggerConfig"] == {
        "basePayload": {"keep": {"nested": 1}},
        "tags": [api.naming.run_tag],
    }


async def test_create_without_external_id_always_makes_a_new_session(api: ContractApi) -> None:
    first, second = await api.created_session(), await api.created_session()
    assert first["id"] != second["id"]
    assert first["externalId"] is None and second["isCached"] is False


async def test_repeating_create_with_an_open_external_id_returns_200_and_is_cached(
    api: ContractApi,
) -> None:
    external_id = api.ext()
    first = await api.created_session(externalId=external_id, tags=["a"])
    again = await api.create(externalId=external_id, tags=["b"], metadata={"m": 1})
    assert again.status_code == 200
    body = again.json()
    assert body["isCached"] is True
    assert body["id"] == first["id"]
    assert body["runId"] == first["runId"] == body["currentRunId"]
    assert body["tags"] == ["a"] and body["metadata"] is None
    assert token_claims(body["publicAccessToken"], api.key)["scopes"] == [
        f"read:sessions:{external_id}",
        f"write:sessions:{external_id}",
    ]


@pytest.mark.mock_only
async def test_a_cached_create_mints_a_fresh_token(api: ContractApi) -> None:
    external_id = api.ext()
    first = await api.created_session(externalId=external_id)
    await api.set_clock(advanceSeconds=2)
    again = (await api.create(externalId=external_id)).json()
    assert again["publicAccessToken"] != first["publicAccessToken"]
    old, new = (
        token_claims(t, api.key) for t in (first["publicAccessToken"], again["publicAccessToken"])
    )
    assert new["iat"] >= old["iat"] + 2 and new["exp"] - new["iat"] == 3600


async def test_a_cached_create_and_the_request_trigger_config(api: ContractApi) -> None:
    external_id = api.ext()
    first = await api.created_session(
        externalId=external_id, triggerConfig={"basePayload": {"v": 1}}
    )
    again = (
        await api.create(externalId=external_id, triggerConfig={"basePayload": {"v": 2}})
    ).json()
    stored = (await api.retrieve(external_id)).json()
    assert again["triggerConfig"] == stored["triggerConfig"]
    api.observe(
        "cached_create_refreshes_trigger_config",
        documented=stored["triggerConfig"]["basePayload"] == {"v": 1}
        and stored["updatedAt"] == first["updatedAt"],
        deployed=stored["triggerConfig"]["basePayload"] == {"v": 2},
    )


async def test_reusing_a_closed_external_id_returns_409(api: ContractApi) -> None:
    external_id = api.ext()
    await api.created_session(externalId=external_id)
    assert (await api.close(external_id, {"reason": "finished"})).status_code == 200
    response = await api.create(externalId=external_id)
    assert response.status_code == 409
    assert response.json() == {
        "error": "Session is closed; use a different externalId to create a new session"
    }


@pytest.mark.mock_only
async def test_reusing_an_expired_external_id_returns_409(api: ContractApi) -> None:
    external_id = api.ext()
    soon = datetime.now(UTC) + timedelta(seconds=30)
    await api.created_session(externalId=external_id, expiresAt=soon.isoformat())
    await api.set_clock(advanceSeconds=60)
    response = await api.create(externalId=external_id)
    assert response.status_code == 409
    assert response.json() == {
        "error": "Session is expired; use a different externalId to create a new session"
    }


async def test_create_with_expires_at_in_the_past_is_refused_with_409(api: ContractApi) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    response = await api.create(externalId=api.ext(), expiresAt=past)
    assert response.status_code == 409
    assert "is expired" in response.json()["error"]


async def test_expires_at_is_returned_in_utc_with_milliseconds(api: ContractApi) -> None:
    body = await api.created_session(expiresAt="2099-01-02T03:04:05.678+01:00")
    assert body["expiresAt"] == "2099-01-02T02:04:05.678Z"


async def test_external_id_is_trimmed(api: ContractApi) -> None:
    external_id = api.ext()
    body = await api.created_session(externalId=f"  {external_id}\t")
    assert body["externalId"] == external_id
    assert (await api.create(externalId=external_id)).json()["id"] == body["id"]


async def test_an_external_id_with_the_reserved_prefix_is_rejected(api: ContractApi) -> None:
    message = "externalId cannot start with 'session_' (reserved prefix for internal friendlyIds)"
    for external_id in ("session_x", "  session_x"):
        response = await api.create(externalId=external_id)
        invalid(api, response, message)
        if response.status_code == 422:
            assert response.json()["details"] == [
                {"code": "custom", "message": message, "path": ["externalId"]}
            ]
    assert (await api.list()).json()["data"] == []


async def test_a_blank_external_id_is_rejected(api: ContractApi) -> None:
    for blank in ("", "   "):
        invalid(
            api, await api.create(externalId=blank), "String must contain at least 1 character(s)"
        )


async def test_every_schema_violation_is_reported(api: ContractApi) -> None:
    response = await api.request(
        "POST",
        "/api/v1/sessions",
        json={"type": "", "tags": ["x" * 129], "triggerConfig": {"basePayload": []}},
    )
    invalid(api, response)
    expected = [
        ("invalid_type", "Required", ["taskIdentifier"]),
        ("too_small", "String must contain at least 1 character(s)", ["type"]),
        ("invalid_type", "Expected object, received array", ["triggerConfig", "basePayload"]),
        ("too_big", "String must contain at most 128 character(s)", ["tags", 0]),
    ]
    body = response.json()
    if response.status_code == 422:
        got = sorted((d["code"], d["message"], d["path"]) for d in body["details"])
        assert got == sorted(expected)
    else:
        for fragment in (
            'Required at "taskIdentifier"',
            'at "tags[0]"',
            'Expected object, received array at "triggerConfig.basePayload"',
        ):
            assert fragment in body["error"]


async def test_trigger_config_tags_allow_ten_and_no_more(api: ContractApi) -> None:
    ten = [f"t{i}" for i in range(10)]
    ok = await api.create(triggerConfig={"basePayload": {}, "tags": ten})
    assert ok.status_code == 201
    too_many = await api.create(triggerConfig={"basePayload": {}, "tags": [*ten, "t10"]})
    invalid(api, too_many, "Array must contain at most 10 element(s)")


async def test_machine_must_be_a_known_preset(api: ContractApi) -> None:
    response = await api.create(triggerConfig={"basePayload": {}, "machine": "huge"})
    invalid(api, response, "Invalid enum value. Expected 'micro' | 'small-1x'")


async def test_numeric_trigger_options_keep_their_limits(api: ContractApi) -> None:
    for config in (
        {"maxAttempts": 11},
        {"maxAttempts": 0},
        {"idleTimeoutInSeconds": 3601},
        {"maxDuration": 1.5},
    ):
        invalid(api, await api.create(triggerConfig={"basePayload": {}, **config}))
    assert (await api.list()).json()["data"] == []


async def test_the_session_token_is_a_one_hour_hs256_jwt_for_the_external_id(
    api: ContractApi,
) -> None:
    external_id = api.ext()
    token = (await api.created_session(externalId=external_id))["publicAccessToken"]
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "HS256"}
    claims = token_claims(token, api.key)
    assert claims["sub"] == await api.environment_id() and claims["pub"] is True
    assert claims["scopes"] == [f"read:sessions:{external_id}", f"write:sessions:{external_id}"]
    assert claims["exp"] - claims["iat"] == 3600
    assert set(claims) == {"sub", "pub", "scopes", "iss", "aud", "exp", "iat"}


async def test_the_session_token_names_the_session_id_without_an_external_id(
    api: ContractApi,
) -> None:
    body = await api.created_session()
    claims = token_claims(body["publicAccessToken"], api.key)
    assert claims["scopes"] == [f"read:sessions:{body['id']}", f"write:sessions:{body['id']}"]


async def test_each_secret_key_is_its_own_environment(
    api: ContractApi, other_api: ContractApi
) -> None:
    external_id = api.ext()
    mine = await api.created_session(externalId=external_id)
    theirs = await other_api.created_session(externalId=external_id)
    assert mine["id"] != theirs["id"]
    assert (await other_api.retrieve(mine["id"])).status_code == 404
    assert [row["id"] for row in (await other_api.list()).json()["data"]] == [theirs["id"]]
    assert (await other_api.list({"filter[type]": api.naming.type})).json()["data"] == []


@pytest.mark.mock_only
async def test_created_at_and_token_times_follow_the_clock(api: ContractApi) -> None:
    await api.set_clock(set="2030-01-01T00:00:00.000Z", frozen=True)
    body = await api.created_session()
    assert body["createdAt"] == body["updatedAt"] == "2030-01-01T00:00:00.000Z"
    claims = token_claims(body["publicAccessToken"], api.key)
    assert claims["iat"] == int(datetime(2030, 1, 1, tzinfo=UTC).timestamp())


@pytest.mark.writes
async def test_expires_at_as_epoch_milliseconds_or_a_plain_date(api: ContractApi) -> None:
    as_number = await api.create(externalId=api.ext(), expiresAt=4102444800000)
    as_date = await api.create(externalId=api.ext(), expiresAt="2100-01-01")
    unreadable = await api.create(externalId=api.ext(), expiresAt="soon")
    refused = (as_number.status_code, as_date.status_code)
    api.observe(
        "expires_at_coerced",
        documented=refused in ((422, 422), (400, 400)),
        deployed=refused == (201, 201)
        and as_number.json()["expiresAt"] == "2100-01-01T00:00:00.000Z"
        and as_date.json()["expiresAt"] == "2100-01-01T00:00:00.000Z",
    )
    assert unreadable.status_code in (400, 422)
    assert "Invalid date" in unreadable.json()["error"]
