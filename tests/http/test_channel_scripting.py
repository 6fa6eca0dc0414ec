"""Playing the task through the control plane: POST /_mock/sessions/{session}/{io}/records."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest

from contract_tests.harness.channels import records
from contract_tests.harness.client import ContractApi

pytestmark = [pytest.mark.anyio, pytest.mark.mock_only]


async def write(api: ContractApi, ref: str, body: dict[str, Any], io: str = "out") -> Any:
    return await api.client.post(
        f"/_mock/sessions/{ref}/{io}/records", json={"environment": api.key, **body}
    )


async def test_data_control_and_raw_records_land_in_order(api: ContractApi) -> None:
    created = await api.created_session(externalId="scripted")
    response = await write(
        api,
        created["id"],
        {
            "records": [
                {"data": {"type": "text-delta", "delta": "hi"}, "id": "part-a"},
                {"control": "turn-complete", "headers": [["session-in-event-id", "3"]]},
                {"body": "not an envelope"},
            ]
        },
    )
    assert response.json() == {"seqNums": [0, 1, 2]}
    drained = (await records(api, "scripted", "out")).json()["records"]
    assert drained[0]["data"] == {"type": "text-delta", "delta": "hi"}
    assert drained[0]["id"] == "part-a"
    assert drained[1]["headers"] == [
        ["trigger-control", "turn-complete"],
        ["session-in-event-id", "3"],
    ]
    assert (drained[2]["data"], drained[2]["id"]) == ("", "")


async def test_text_becomes_a_whole_turn_with_a_fresh_token(api: ContractApi) -> None:
    await api.created_session(externalId="turn")
    response = await write(api, "turn", {"text": "two words", "inEventId": 4})
    assert response.status_code == 200
    drained = (await records(api, "turn", "out")).json()["records"]
    kinds = [r["data"]["type"] for r in drained[:-1]]
    assert kinds == [
        "start",
        "start-step",
        "text-start",
        "text-delta",
        "text-delta",
        "text-end",
        "finish-step",
        "finish",
    ]
    assert "".join(r["data"].get("delta", "") for r in drained[:-1]) == "two words"
    headers = dict(map(tuple, drained[-1]["headers"]))
    assert headers["trigger-control"] == "turn-complete"
    assert headers["session-in-event-id"] == "4"
    claims = jwt.decode(headers["public-access-token"], options={"verify_signature": False})
    assert claims["scopes"] == ["read:sessions:turn", "write:sessions:turn"]


async def test_a_bad_record_writes_nothing(api: ContractApi) -> None:
    await api.created_session(externalId="atomic")
    response = await write(
        api, "atomic", {"records": [{"data": 1}, {"data": 2, "control": "turn-complete"}]}
    )
    assert response.status_code == 400
    assert "records[1]" in response.json()["error"]
    assert (await records(api, "atomic", "out")).json()["records"] == []
    both = await write(api, "atomic", {"text": "a", "records": []})
    assert both.status_code == 400


async def test_reset_forgets_channels_too(api: ContractApi) -> None:
    await api.created_session(externalId="forget")
    await write(api, "forget", {"records": [{"data": "x"}]})
    await api.client.post("/_mock/reset", json={"environment": api.key})
    drained = await records(api, "forget", "out")
    assert json.loads(drained.text) == {"records": []}
