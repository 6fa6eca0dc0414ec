"""The soak's injected faults: rules in force from every start (``--faults``), and rules
made one request at a time in an environment of their own, each checked to have fired as
it should (a dropped connection counts as injected only if its rule fired)."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import httpx
from soak_load import adopt, create_body, seen, stream_path
from soak_traffic import FAULT, LIMIT, Failure, Session, Traffic

ACTIONS: list[tuple[str, dict[str, Any], str]] = [
    ("retrieve_session_v1", {"status": 503}, "status"),
    (
        "retrieve_session_v1",
        {"status": 500, "body": {"error": "boom"}, "headers": {"x-should-retry": "false"}},
        "status",
    ),
    ("update_session_v1", {"status": 502, "afterStore": True}, "status"),
    ("append_to_session_channel_v1", {"status": 500, "afterStore": True}, "status"),
    ("list_sessions_v1", {"rateLimit": {"resetSeconds": 1}}, "status"),
    ("retrieve_session_v1", {"drop": "reset"}, "drop"),
    ("list_sessions_v1", {"drop": "empty"}, "drop"),
    ("retrieve_session_v1", {"drop": "malformed"}, "drop"),
    ("create_session_v1", {"drop": "reset"}, "drop"),
    ("retrieve_session_v1", {"drop": "hang"}, "drop"),
    ("list_sessions_v1", {"dribble": {"chunks": 4, "totalMs": 300}}, "normal"),
    ("append_to_session_channel_v1", {"delayMs": 150}, "normal"),
    ("subscribe_to_session_channel_v1", {"cutAfterRecords": 1}, "cut"),
    ("s2_append", {"status": 503}, "status"),
]


def s2_path(stream: str) -> str:
    return f"/s2/v1/streams/{quote(stream, safe='')}/records"


async def fault_request(
    t: Traffic, op: str, session: Session, grant: tuple[str, str] | None
) -> Any:
    ext, key = session.external_id, session.key
    timeout = 1.5 if op == "retrieve_session_v1" else None
    match op:
        case "retrieve_session_v1":
            return await t.call(
                "fault: retrieve", "GET", f"/api/v1/sessions/{ext}", key=key, timeout=timeout or 15
            )
        case "update_session_v1":
            assert session.book is not None
            session.book.tried(time.monotonic(), (("f",), "null"))
            body = {"tags": ["f"], "metadata": None}
            answer = await t.call(
                "fault: update", "PATCH", f"/api/v1/sessions/{ext}", key=key, json=body
            )
            if isinstance(answer, httpx.Response) and answer.status_code == 200:
                seen(t, session, answer)
            return answer
        case "list_sessions_v1":
            return await t.call("fault: list", "GET", "/api/v1/sessions", key=key)
        case "create_session_v1":
            return await t.call(
                "fault: create",
                "POST",
                "/api/v1/sessions",
                key=key,
                json=create_body(None, t.random),
            )
        case "append_to_session_channel_v1":
            path = stream_path(ext, "out", None) + "/append"
            return await t.call("fault: append", "POST", path, key=key, content=b"faulted")
        case "s2_append" if grant is not None:
            path = s2_path(grant[1])
            return await t.call(
                "fault: s2 append", "POST", path, key=grant[0], json={"records": [{"body": "f"}]}
            )
        case _:
            async with t.opened(
                "fault: subscribe",
                stream_path(ext, "out", None),
                key=key,
                headers={"Timeout-Seconds": "2"},
            ) as answer:
                if isinstance(answer, httpx.Response):
                    async for _ in answer.aiter_lines():
                        pass
            return answer  # also after a cut, which the stream's context took


async def fault_worker(t: Traffic, key: str) -> None:
    """In an environment of its own, so no other request can use up its rules."""
    sessions: list[Session] = []
    grant: tuple[str, str] | None = None
    while not t.stopping.is_set():
        if len(sessions) < 2:
            body = create_body(t.next_id("fault"), t.random)
            made = await t.call("create", "POST", "/api/v1/sessions", key=key, json=body)
            if isinstance(made, httpx.Response) and made.status_code == 201:
                sessions.append(adopt(t, key, body["externalId"], made, owner=-2, shared=False))
                await t.call(
                    "append .out",
                    "POST",
                    stream_path(body["externalId"], "out", None) + "/append",
                    key=key,
                    content=b"seed",
                )
            continue
        session = t.random.choice(sessions)
        if grant is None:
            got = await t.call(
                "initialize", "PUT", stream_path(session.external_id, "out", None), key=key
            )
            if isinstance(got, httpx.Response) and got.status_code == 202:
                grant = (got.headers["x-s2-access-token"], got.headers["x-s2-stream-name"])
        op, action, expect = t.random.choice(ACTIONS)
        # An S2 token names no environment a rule could match: its stream's path does.
        where = {"path": s2_path(grant[1])} if op == "s2_append" and grant else {"environment": key}
        rule = {"match": {"operation": op, **where}, "action": action, "times": 1}
        made = await t.call("control plane", "POST", "/_mock/faults", json=rule)
        if not isinstance(made, httpx.Response) or made.status_code != 201:
            continue
        rule_id = made.json()["id"]
        answer = await fault_request(t, op, session, grant)
        # Read how often it fired, and remove it: a rule a --faults rule beat to its
        # request must not lie in wait for the next one.
        state = await t.call("control plane", "GET", f"/_mock/faults/{rule_id}")
        await t.call("control plane", "DELETE", f"/_mock/faults/{rule_id}")
        fired = (
            state.json().get("fired", 0)
            if isinstance(state, httpx.Response) and state.status_code == 200
            else None
        )
        judge(t, rule_id, op, expect, answer, fired)
        await t.pause(0.3)


def judge(t: Traffic, rule_id: str, op: str, expect: str, answer: Any, fired: int | None) -> None:
    t.tally.probes["faults"][f"{op} {expect} fired={fired}"] += 1
    if fired != 1:
        return  # a restart forgot the rule, or a --faults rule came first
    if isinstance(answer, Failure):
        if expect == "drop":
            answer.excuse = "fault"
        else:
            t.tally.anomaly(f"fault {rule_id} ({op}, {expect}): no answer ({answer.kind})")
    elif expect in ("status", "cut") and answer.headers.get(FAULT) != rule_id:
        t.tally.anomaly(f"fault {rule_id} ({op}) fired, but the answer is not marked with it")
    elif expect == "drop":
        t.tally.anomaly(f"fault {rule_id} ({op}) fired, yet answered {answer.status_code}")
    elif expect == "normal" and (answer.status_code >= 500 or LIMIT in answer.headers):
        t.tally.anomaly(f"fault {rule_id} ({op}, delay) answered {answer.status_code}")


def faults_file(seed: int) -> list[dict[str, Any]]:
    """Background rules, in force from every start (``--faults``): every answer they make
    is marked, and an ``afterStore`` one leaves a write carried out but unacknowledged."""
    every = {"times": None, "seed": seed}
    return [
        {
            "match": {"operation": "retrieve_session_v1"},
            "action": {"status": 503},
            "probability": 0.02,
            **every,
        },
        {
            "match": {"operation": "update_session_v1"},
            "action": {"status": 500, "afterStore": True},
            "probability": 0.02,
            **every,
        },
        {
            "match": {"operation": "append_to_session_channel_v1"},
            "action": {"status": 500, "afterStore": True},
            "probability": 0.01,
            **every,
        },
        {
            "match": {"operation": "create_session_v1"},
            "action": {"status": 503},
            "probability": 0.01,
            **every,
        },
        {
            "match": {"operation": "list_sessions_v1"},
            "action": {"delay": {"type": "lognormal", "medianMs": 20, "sigma": 0.8, "maxMs": 400}},
            "probability": 0.2,
            **every,
        },
        {
            "match": {"operation": "subscribe_to_session_channel_v1"},
            "action": {"cutAfterRecords": 2},
            "probability": 0.1,
            **every,
        },
    ]


def dumps(rules: list[dict[str, Any]]) -> str:
    return json.dumps(rules, indent=1)
