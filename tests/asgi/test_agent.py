"""The built-in agent (``serve --agent``): a chat message on ``.in`` gets a streamed
turn on ``.out``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from mock_server.app import create_app
from mock_server.channels.agent import Script
from mock_server.core.settings import Settings
from tests.support import new_key, session_body

pytestmark = pytest.mark.anyio


def chat_message(text: str, trigger: str = "submit-message") -> str:
    message = {"id": "u1", "role": "user", "parts": [{"type": "text", "text": text}]}
    return json.dumps(
        {"kind": "message", "payload": {"chatId": "c", "trigger": trigger, "message": message}}
    )


class Chat:
    def __init__(self, client: httpx.AsyncClient, key: str, ref: str) -> None:
        self.client, self.key, self.ref = client, key, ref

    async def send(self, body: str, channel: str = "") -> int:
        path = f"/realtime/v1/sessions/{self.ref}/{channel}in/append"
        response = await self.client.post(path, content=body, headers=self.auth)
        assert response.status_code == 200, response.text
        return int(response.json()["seq"])

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    async def out(self) -> list[dict[str, Any]]:
        path = f"/realtime/v1/sessions/{self.ref}/out/records"
        return list((await self.client.get(path, headers=self.auth)).json()["records"])

    async def wait(self, done: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
        """``.out`` once ``done`` holds for it (the agent answers in the background)."""
        with anyio.fail_after(5):
            while True:
                found = await self.out()
                if done(found):
                    return found
                await anyio.sleep(0.01)

    async def turn(self, turns: int = 1) -> list[dict[str, Any]]:
        """``.out`` once it holds ``turns`` turn-complete records."""
        complete = ["trigger-control", "turn-complete"]
        return await self.wait(lambda found: sum(complete in r["headers"] for r in found) >= turns)


async def chat_on(agent: str, delay_ms: int = 0) -> AsyncIterator[Chat]:
    mock = create_app(Settings(agent=agent, agent_delay_ms=delay_ms))
    transport = httpx.ASGITransport(app=mock)
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as client:
        key = new_key()
        created = await client.post(
            "/api/v1/sessions",
            json=session_body(externalId="chat-1"),
            headers={"Authorization": f"Bearer {key}"},
        )
        assert created.status_code == 201
        yield Chat(client, key, "chat-1")


@pytest.fixture
async def chat() -> AsyncIterator[Chat]:
    async for opened in chat_on("echo"):
        yield opened


def text_of(records: list[dict[str, Any]]) -> str:
    return "".join(r["data"].get("delta", "") for r in records if isinstance(r["data"], dict))


async def test_echo_answers_a_message_with_a_whole_turn(chat: Chat) -> None:
    seq = await chat.send(chat_message("hello there"))
    out = await chat.turn()
    assert text_of(out) == "echo: hello there"
    assert [r["data"]["type"] for r in out[:3]] == ["start", "start-step", "text-start"]
    headers = dict(map(tuple, out[-1]["headers"]))
    assert headers["session-in-event-id"] == str(seq)
    assert headers["public-access-token"].count(".") == 2
    assert len({r["id"] for r in out[:-1]}) == len(out) - 1  # part ids are unique


async def test_regenerate_answers_the_last_message_again(chat: Chat) -> None:
    await chat.send(chat_message("first"))
    await chat.turn()
    await chat.send(json.dumps({"kind": "message", "payload": {"trigger": "regenerate-message"}}))
    out = await chat.turn(2)
    second = out[out.index(next(r for r in out if r["headers"])) + 1 :]
    assert text_of(second) == "echo: first"


async def test_other_sends_get_an_empty_turn_and_non_chat_records_none(chat: Chat) -> None:
    await chat.send(json.dumps({"kind": "message", "payload": {"trigger": "action", "action": {}}}))
    out = await chat.turn()
    assert len(out) == 1
    await chat.send('{"type":"note"}')
    await chat.send(json.dumps({"kind": "stop"}))
    await anyio.sleep(0.05)
    assert len(await chat.out()) == 1


async def test_close_gets_a_session_closed_record(chat: Chat) -> None:
    await chat.send(json.dumps({"kind": "message", "payload": {"trigger": "close"}}))
    out = await chat.wait(bool)
    assert out[0]["headers"] == [["trigger-control", "session-closed"]]


async def test_side_channels_wake_no_agent(chat: Chat) -> None:
    await chat.send(chat_message("psst"), channel="channels/control/")
    await anyio.sleep(0.05)
    assert await chat.out() == []


async def test_a_script_chooses_replies(tmp_path: Path) -> None:
    script = tmp_path / "replies.yaml"
    script.write_text(
        "replies:\n"
        "  - match: '(?i)weather'\n"
        "    text: Sunny.\n"
        "  - chunks: [{type: start}, {type: finish}]\n",
        encoding="utf-8",
    )
    async for chat in chat_on(str(script)):
        await chat.send(chat_message("What's the WEATHER?"))
        assert text_of(await chat.turn()) == "Sunny."
        await chat.send(chat_message("anything else"))
        out = await chat.turn(2)
        assert [r["data"]["type"] for r in out if isinstance(r["data"], dict)][-2:] == [
            "start",
            "finish",
        ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "non-empty list"),
        ("- match: x\n", "needs `text` or `chunks`"),
        ("- chunks: [1]\n", "list of objects"),
    ],
)
def test_bad_scripts_are_reported(tmp_path: Path, text: str, message: str) -> None:
    script = tmp_path / "bad.yaml"
    script.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        Script.load(script)


async def test_out_is_trimmed_back_to_the_previous_turn(chat: Chat) -> None:
    for text in ("one", "two", "three"):
        await chat.send(chat_message(text))
        expected = f"echo: {text}"

        def answered(found: list[dict[str, Any]], expected: str = expected) -> bool:
            return text_of(found).endswith(expected) and bool(found[-1]["headers"])

        out = await chat.wait(answered)
    # Turn three, after turn two's turn-complete; the older records are trimmed away.
    assert out[0]["headers"][0] == ["trigger-control", "turn-complete"]
    assert text_of(out) == "echo: three"


async def test_a_first_message_in_the_base_payload_is_answered_at_create() -> None:
    mock = create_app(Settings(agent="echo", agent_delay_ms=0))
    transport = httpx.ASGITransport(app=mock)
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as client:
        key = new_key()
        message = {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "pong?"}]}
        payload = {"chatId": "c9", "trigger": "submit-message", "message": message}
        body = session_body(externalId="c9", triggerConfig={"basePayload": payload})
        assert (
            await client.post(
                "/api/v1/sessions", json=body, headers={"Authorization": f"Bearer {key}"}
            )
        ).status_code == 201
        chat = Chat(client, key, "c9")
        out = await chat.turn()
        assert text_of(out) == "echo: pong?"
        assert [h[0] for h in out[-1]["headers"]] == ["trigger-control", "public-access-token"]
        preload = session_body(
            externalId="c10", triggerConfig={"basePayload": {"trigger": "preload"}}
        )
        await client.post(
            "/api/v1/sessions", json=preload, headers={"Authorization": f"Bearer {key}"}
        )
        await anyio.sleep(0.05)
        assert await Chat(client, key, "c10").out() == []


async def test_a_stop_cuts_the_turn_short_and_still_completes_it() -> None:
    async for chat in chat_on("echo", delay_ms=50):
        await chat.send(chat_message("a long answer with many words in it"))
        await chat.send(json.dumps({"kind": "stop"}))
        out = await chat.turn()
        assert out[-1]["headers"][0] == ["trigger-control", "turn-complete"]
        assert len(out) < 10  # fewer chunks than the whole answer's fourteen


async def test_after_a_reset_the_agent_starts_afresh(chat: Chat) -> None:
    await chat.send(chat_message("before"))
    await chat.turn()
    assert (await chat.client.post("/_mock/reset")).status_code == 200
    created = await chat.client.post(
        "/api/v1/sessions", json=session_body(externalId=chat.ref), headers=chat.auth
    )
    assert created.status_code == 201
    await chat.send(json.dumps({"kind": "message", "payload": {"trigger": "regenerate-message"}}))
    out = await chat.turn()
    # The whole new turn is there (nothing trimmed by memories of the old stream), and a
    # regenerate has no earlier message to repeat.
    assert out[0]["data"]["type"] == "start"
    assert text_of(out) == "echo: "


async def test_sessions_from_a_seed_file_are_not_answered_again(tmp_path: Path) -> None:
    """A seed holds its own conversation: a reset that re-applies it (with the agent
    running) answers nothing, while the same first message through the API is answered."""
    key = new_key()
    first = json.loads(chat_message("hello"))["payload"]
    seeded = session_body(externalId="seeded", triggerConfig={"basePayload": first})
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"environments": {key: {"sessions": [seeded]}}}))
    mock = create_app(Settings(agent="echo", agent_delay_ms=0, seed_file=str(seed)))
    transport = httpx.ASGITransport(app=mock)
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as client:
        assert (await client.post("/_mock/reset")).status_code == 200
        created = await client.post(
            "/api/v1/sessions",
            json={**seeded, "externalId": "live"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert created.status_code == 201
        await Chat(client, key, "live").turn()  # the agent does answer a first message
        assert await Chat(client, key, "seeded").out() == []
