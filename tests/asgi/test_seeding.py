"""``--seed-file``: a populated fake from the start, checked against the spec."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.control.seeding import SeedFileError
from mock_server.core.settings import Settings

SEED = """
environments:
  tr_dev_seeded:
    sessions:
      - type: chat.agent
        externalId: chat-1
        taskIdentifier: my-chat
        triggerConfig: {basePayload: {chatId: chat-1}}
        tags: [vip]
        channels:
          out:
            - {data: {type: text-delta, id: t1, delta: hi}, id: part-1}
            - {control: turn-complete}
      - type: chat.agent
        externalId: chat-old
        taskIdentifier: my-chat
        triggerConfig: {basePayload: {}}
        close: {reason: archived}
"""


def seeded(tmp_path: Path, text: str = SEED) -> TestClient:
    seed = tmp_path / "seed.yaml"
    seed.write_text(text, encoding="utf-8")
    return TestClient(create_app(Settings(seed_file=str(seed))))


def test_the_fake_starts_with_the_seeded_sessions_and_records(tmp_path: Path) -> None:
    client = seeded(tmp_path)
    auth = {"Authorization": "Bearer tr_dev_seeded"}
    listed = client.get("/api/v1/sessions", headers=auth).json()["data"]
    assert [(s["externalId"], s["closedReason"]) for s in listed] == [
        ("chat-old", "archived"),
        ("chat-1", None),
    ]
    records = client.get("/realtime/v1/sessions/chat-1/out/records", headers=auth).json()
    assert records["records"][0]["data"] == {"type": "text-delta", "id": "t1", "delta": "hi"}
    assert records["records"][0]["id"] == "part-1"
    assert records["records"][1]["headers"] == [["trigger-control", "turn-complete"]]
    closed_in = client.get("/realtime/v1/sessions/chat-old/in/records", headers=auth).json()
    assert closed_in["records"][0]["headers"][0] == ["trigger-control", "session-closed"]


def test_a_full_reset_goes_back_to_the_seed(tmp_path: Path) -> None:
    client = seeded(tmp_path)
    auth = {"Authorization": "Bearer tr_dev_seeded"}
    client.post("/api/v1/sessions/chat-1/close", json={}, headers=auth)
    client.post("/_mock/reset")
    row = client.get("/api/v1/sessions/chat-1", headers=auth).json()
    assert row["closedAt"] is None
    assert len(client.get("/api/v1/sessions", headers=auth).json()["data"]) == 2


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("sessions: []", ["needs an `environments` mapping"]),
        (
            "environments:\n  nope:\n    sessions: []",
            ["environments.nope: not a secret key"],
        ),
        (
            "environments:\n  tr_dev_a:\n    sessions:\n"
            "      - {type: t, taskIdentifier: x}\n"
            "      - {type: t, taskIdentifier: x, triggerConfig: {basePayload: {}},"
            " externalId: session_x, colour: red}\n"
            "      - {type: t, taskIdentifier: x, triggerConfig: {basePayload: {}},"
            " channels: {out: [{data: 1, body: two}]}}",
            [
                "environments.tr_dev_a.sessions[0]",
                "triggerConfig",
                "environments.tr_dev_a.sessions[1].colour: not a field of a create body",
                "environments.tr_dev_a.sessions[2].channels.out: records[0]: give exactly one",
            ],
        ),
    ],
)
def test_every_problem_is_reported_with_its_place(
    tmp_path: Path, text: str, problems: list[str]
) -> None:
    with pytest.raises(SeedFileError) as raised:
        seeded(tmp_path, text)
    for problem in problems:
        assert problem in str(raised.value)
