"""The documented client protocol (upstream ``ai-chat-client-protocol.md``), spoken over
HTTP to ``trigger-mock serve --agent echo``: create with the first message, read ``.out``
until the turn-complete, send a follow-up on ``.in``, resume with ``Last-Event-ID``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from contract_tests.harness.channels import parse_events
from mock_server.testing import MockServer
from tests.support import new_key


@pytest.fixture(scope="module")
def echo() -> Iterator[MockServer]:
    fake = MockServer("--agent", "echo", "--agent-delay-ms", "5", "--log-level", "warning")
    fake.start()
    yield fake
    fake.stop()


def read_turn(
    client: httpx.Client, path: str, token: str, last: int | None
) -> list[dict[str, Any]]:
    """SSE records up to and including the next turn-complete."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    headers["Timeout-Seconds"] = "20"
    if last is not None:
        headers["Last-Event-ID"] = str(last)
    seen: list[dict[str, Any]] = []
    with client.stream("GET", path, headers=headers) as response:
        assert response.headers["x-stream-version"] == "v2"
        buffer = ""
        for text in response.iter_text():
            buffer += text
            *complete, buffer = buffer.split("\n\n")
            for event in parse_events("\n\n".join(complete)):
                if event.event == "batch":
                    seen += event.json()["records"]
            if any(["trigger-control", "turn-complete"] in r["headers"] for r in seen):
                return seen
    raise AssertionError(f"no turn-complete in {seen}")


def turn_complete(records: list[dict[str, Any]]) -> dict[str, Any]:
    return next(r for r in records if ["trigger-control", "turn-complete"] in r["headers"])


def said(records: list[dict[str, Any]]) -> str:
    data = [r for r in records if r["body"] and not (r["headers"] and r["headers"][0][0] == "")]
    chunks = [json.loads(r["body"])["data"] for r in data]  # skipping S2 commands (trims)
    return "".join(c.get("delta", "") for c in chunks if c["type"] == "text-delta")


def message(text: str) -> dict[str, Any]:
    return {"id": text, "role": "user", "parts": [{"type": "text", "text": text}]}


def test_two_turns_over_the_documented_protocol(echo: MockServer) -> None:
    with httpx.Client(base_url=echo.base_url, timeout=30) as client:
        chat_id = "protocol-chat"
        payload = {"chatId": chat_id, "trigger": "submit-message", "message": message("ping")}
        created = client.post(
            "/api/v1/sessions",
            headers={"Authorization": f"Bearer {new_key()}"},
            json={
                "type": "chat.agent",
                "externalId": chat_id,
                "taskIdentifier": "my-chat",
                "triggerConfig": {"basePayload": payload},
            },
        ).json()
        token, out = created["publicAccessToken"], f"/realtime/v1/sessions/{created['id']}/out"
        first = read_turn(client, out, token, None)
        assert said(first) == "echo: ping"
        last = turn_complete(first)["seq_num"]
        follow_up = {"kind": "message", "payload": {**payload, "message": message("again")}}
        sent = client.post(
            f"/realtime/v1/sessions/{created['id']}/in/append",
            headers={"Authorization": f"Bearer {token}", "X-Part-Id": "u-again"},
            content=json.dumps(follow_up),
        )
        seq = sent.json()["seq"]
        second = read_turn(client, out, token, last)
        assert second[0]["seq_num"] == last + 1
        assert said(second) == "echo: again"
        headers = dict(map(tuple, turn_complete(second)["headers"]))
        assert int(headers["session-in-event-id"]) >= seq
