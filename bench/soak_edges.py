"""The soak's rough edges: SSE readers that follow, stall or drop; the caps probed on
purpose; hostile requests; and fault rules made one request at a time, each checked to
have fired as it should."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from soak_checks import SessionBook
from soak_load import create_body, seen, stream_path, text_of
from soak_traffic import FAULT, LIMIT, Failure, Session, Traffic

# --- readers ------------------------------------------------------------------------------


async def follower(t: Traffic) -> None:
    """Follows a channel for a moment, sometimes from an earlier record, and hangs up
    mid-stream."""
    while not t.stopping.is_set():
        session = t.pick()
        if session is None:
            await t.pause(0.2)
            continue
        headers = {"Timeout-Seconds": "5"}
        if t.random.random() < 0.5:
            headers["Last-Event-ID"] = str(t.random.randint(0, 50))
        io = "out" if t.random.random() < 0.7 else "in"
        path = stream_path(session.external_id, io, None)
        async with t.opened("subscribe", path, key=session.key, headers=headers) as answer:
            if isinstance(answer, httpx.Response) and answer.status_code == 200:
                batches, wanted = 0, t.random.randint(1, 6)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(t.random.uniform(0.3, 3.0)):
                        async for line in answer.aiter_lines():
                            batches += line.startswith("event: batch")
                            if batches >= wanted:
                                break
        await t.pause(0.1)


@dataclass(slots=True)
class RawReader:
    writer: asyncio.StreamWriter
    status: int


async def raw_reader(t: Traffic, port: int, session: Session, op: str) -> RawReader | None:
    """An SSE request on a socket with a tiny receive buffer, read only up to the
    answer's head: after that, the reader never reads."""
    await t.up.wait()
    start = time.monotonic()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 14)
        path = stream_path(session.external_id, "out", None)
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: soak\r\nAuthorization: Bearer {session.key}\r\n"
            f"Timeout-Seconds: 30\r\n\r\n".encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
        sock.close()
        t.tally.failed(op, error, start)
        return None
    status, headers = parse_head(head)
    t.tally.status(op, status, headers)
    return RawReader(writer, status)


def hang_up(reader: RawReader, *, reset: bool) -> None:
    sock = reader.writer.get_extra_info("socket")
    if reset and sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    reader.writer.transport.abort()


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


async def staller(t: Traffic, port: int) -> None:
    """Readers that never read, held a few seconds, half of them reset on hang-up."""
    while not t.stopping.is_set():
        session = t.pick()
        if session is None:
            await t.pause(0.2)
            continue
        held = await raw_reader(t, port, session, "subscribe (stalled)")
        if held is not None:
            await asyncio.sleep(t.random.uniform(1.0, 6.0))
            hang_up(held, reset=t.random.random() < 0.5)
        await t.pause(0.3)


async def reader_cap_probe(t: Traffic, port: int, cap: int, every: float) -> None:
    """Opens stalled readers until the reader cap answers (or ``cap + 3`` are open)."""
    while not t.stopping.is_set():
        await asyncio.sleep(every)
        held: list[RawReader] = []
        refused = False
        for _ in range(cap + 3):
            session = t.pick()
            if session is None or t.stopping.is_set():
                break
            reader = await raw_reader(t, port, session, "subscribe (cap probe)")
            if reader is None:
                break
            held.append(reader)
            if reader.status == 503:
                refused = True
                break
        else:
            t.tally.probes["sse-readers"]["not refused"] += 1
        if refused:
            t.tally.probes["sse-readers"]["refused"] += 1
        await asyncio.sleep(0.5)
        for reader in held:
            hang_up(reader, reset=False)


# --- environments and sessions beyond their caps --------------------------------------


async def environment_probe(t: Traffic, every: float) -> None:
    """Keys nobody used before, each making an environment with one session in it."""
    while not t.stopping.is_set():
        key = "tr_dev_" + secrets.token_hex(12)
        body = create_body(t.next_id("env"), t.random)
        answer = await t.call("create (new key)", "POST", "/api/v1/sessions", key=key, json=body)
        if isinstance(answer, httpx.Response):
            t.tally.probes["environments"][str(answer.status_code)] += 1
            if answer.status_code == 201:
                await adopt(t, key, body["externalId"], answer, owner=-1)
        await t.pause(every)


async def adopt(
    t: Traffic, key: str, external_id: str, answer: httpx.Response, owner: int
) -> Session:
    row = answer.json()
    session = Session(key, external_id, row["id"], row["publicAccessToken"], owner, row["runId"])
    session.book = SessionBook(key, external_id, row["id"])
    session.book.seen(time.monotonic(), row)
    t.books[(key, external_id)] = session.book
    if owner != -2:
        t.sessions.append(session)
    return session


# --- hostile requests ---------------------------------------------------------------------


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


async def _chunks(size: int) -> AsyncIterator[bytes]:
    for _ in range(size // (64 << 10)):
        yield b"z" * (64 << 10)


def hostile_calls(t: Traffic, session: Session) -> dict[str, Callable[[], Awaitable[Any]]]:
    key, ext = session.key, session.external_id
    json_type = {"Content-Type": "application/json"}
    append = stream_path(ext, "out", None) + "/append"
    big = {**create_body(None, t.random), "metadata": {"pad": "x" * 40_000}}
    return {
        "malformed JSON": lambda: t.call(
            "hostile",
            "POST",
            "/api/v1/sessions",
            key=key,
            content=b'{"type": "a",',
            headers=json_type,
        ),
        "not JSON": lambda: t.call(
            "hostile",
            "POST",
            "/api/v1/sessions",
            key=key,
            content=b"type=a",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        "bad UTF-8": lambda: t.call(
            "hostile",
            "POST",
            "/api/v1/sessions",
            key=key,
            content=b'{"type":"\xff\xfe"}',
            headers=json_type,
        ),
        "deep JSON": lambda: t.call(
            "hostile",
            "PATCH",
            f"/api/v1/sessions/{ext}",
            key=key,
            content=('{"metadata":{"a":' + _deep(8000) + "}}").encode(),
            headers=json_type,
        ),
        "oversized create": lambda: t.call(
            "hostile", "POST", "/api/v1/sessions", key=key, json=big
        ),
        "oversized append": lambda: t.call(
            "hostile",
            "POST",
            append,
            key=key,
            content=text_of((1 << 20) + 64, t.random, "big").encode(),
        ),
        "oversized chunked append": lambda: t.call(
            "hostile", "POST", append, key=key, content=_chunks(2 << 20)
        ),
        "garbage key": lambda: t.call("hostile", "GET", "/api/v1/sessions", key="garbage"),
        "short key": lambda: t.call("hostile", "GET", "/api/v1/sessions", key="tr_dev_"),
        "no key": lambda: t.call("hostile", "GET", f"/api/v1/sessions/{ext}"),
        "forged token": lambda: t.call(
            "hostile", "GET", f"/api/v1/sessions/{ext}", key=session.token[:-4] + "AAAA"
        ),
        "unknown session": lambda: t.call(
            "hostile", "GET", "/api/v1/sessions/session_c" + "0" * 24, key=key
        ),
        "bad query": lambda: t.call(
            "hostile",
            "GET",
            "/api/v1/sessions",
            key=key,
            params={"page[size]": "0", "filter[x]": "1"},
        ),
        "huge header": lambda: t.call(
            "hostile", "GET", f"/api/v1/sessions/{ext}", key=key, headers={"X-Pad": "p" * 60_000}
        ),
        "huge part id": lambda: t.call(
            "hostile", "POST", append, key=key, content=b"x", headers={"X-Part-Id": "q" * 20_000}
        ),
        "bad timeout": lambda: t.call(
            "hostile",
            "GET",
            stream_path(ext, "out", None),
            key=key,
            headers={"Timeout-Seconds": "-1"},
        ),
        "wrong method": lambda: t.call("hostile", "DELETE", f"/api/v1/sessions/{ext}", key=key),
    }


async def hostile(t: Traffic) -> None:
    while not t.stopping.is_set():
        session = t.pick()
        if session is None:
            await t.pause(0.2)
            continue
        calls = hostile_calls(t, session)
        name = t.random.choice(sorted(calls))
        answer = await calls[name]()
        outcome = answer.kind if isinstance(answer, Failure) else str(answer.status_code)
        t.tally.hostile[name][outcome] += 1
        await t.pause(0.15)


async def raw_exchange(port: int, parts: list[bytes], gap: float, wait: float) -> tuple[str, float]:
    """Sends ``parts`` ``gap`` seconds apart, then reads until the server closes or
    ``wait`` runs out: the status it answered (or how it ended), and when."""
    start = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for n, part in enumerate(parts):
            if n:
                await asyncio.sleep(gap)
            writer.write(part)
            await writer.drain()
        try:
            async with asyncio.timeout(wait):
                answer = await reader.read()
        except TimeoutError:
            return "held open", time.monotonic() - start
        if not answer:
            return "closed silently", time.monotonic() - start
        status, _ = parse_head(answer.split(b"\r\n\r\n")[0])
        return str(status), time.monotonic() - start
    except OSError as error:
        return type(error).__name__, time.monotonic() - start
    finally:
        writer.transport.abort()


async def raw_hostile(t: Traffic, port: int, header_timeout: float) -> None:
    """Requests no HTTP client would send: a garbage request line, headers that never
    finish (sent at once, or a byte at a time), and a hang-up in the middle of them."""
    head = b"POST /api/v1/sessions HTTP/1.1\r\nHost: soak\r\nAuthorization: Bearer tr_dev_"
    wait = header_timeout + 3
    cases: dict[str, tuple[list[bytes], float, float]] = {
        "garbage request": ([b"\x16\x03\x01\x02\x00 NONSENSE\r\n\r\n"], 0, 5),
        "half-sent headers": ([head], 0, wait),
        "trickled headers": ([head[i : i + 4] for i in range(0, len(head), 4)], 0.25, wait),
        "hang-up mid-headers": ([head], 0, 0.2),
    }
    while not t.stopping.is_set():
        await t.up.wait()
        name = t.random.choice(sorted(cases))
        parts, gap, limit = cases[name]
        started = time.monotonic()
        try:
            outcome, took = await raw_exchange(port, parts, gap, limit)
        except OSError as error:
            t.tally.failed("raw " + name, error, started)
            continue
        if name in ("half-sent headers", "trickled headers"):
            late = outcome == "408" and took > header_timeout + 2
            outcome += " (late)" if late else ""
        t.tally.hostile[name][outcome] += 1
        await t.pause(0.5)


# --- fault rules, one request each ------------------------------------------------------

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
                sessions.append(await adopt(t, key, body["externalId"], made, owner=-2))
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
