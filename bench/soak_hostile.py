"""The soak's hostile traffic: keys nobody used before (the environment cap), requests
no client should send (bad bodies, bad keys, oversized anything), and raw ones (garbage,
headers that never finish, hang-ups)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from soak_load import adopt, create_body, stream_path, text_of
from soak_readers import parse_head
from soak_traffic import Failure, Session, Traffic

HEADER_CASES = ("half-sent headers", "trickled headers")
"""Raw cases that the header timeout must answer with a ``408``."""
KILLED = "cut short by the kill"


async def environment_probe(t: Traffic, every: float) -> None:
    """Keys nobody used before, each making an environment with one session in it."""
    while not t.stopping.is_set():
        key = "tr_dev_" + secrets.token_hex(12)
        body = create_body(t.next_id("env"), t.random)
        answer = await t.call("create (new key)", "POST", "/api/v1/sessions", key=key, json=body)
        if isinstance(answer, httpx.Response):
            t.tally.probes["environments"][str(answer.status_code)] += 1
            if answer.status_code == 201:
                adopt(t, key, body["externalId"], answer, owner=-1)
        await t.pause(every)


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
    """Sends ``parts`` ``gap`` seconds apart (stopping early if the server answers), then
    reads until the server closes or ``wait`` runs out (``0``: hangs up at once): the
    status it answered (or how it ended), and when."""
    start = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    received = b""
    try:
        for n, part in enumerate(parts):
            if n:
                with contextlib.suppress(TimeoutError):
                    received = await asyncio.wait_for(reader.read(1 << 16), gap)
                if received or reader.at_eof():
                    break
            writer.write(part)
            await writer.drain()
        if not wait:
            return "hung up", time.monotonic() - start
        if not received and not reader.at_eof():
            try:
                async with asyncio.timeout(wait):
                    received = await reader.read(1 << 16)
            except TimeoutError:
                return "held open", time.monotonic() - start
        if not received:
            return "closed silently", time.monotonic() - start
        status, _ = parse_head(received.split(b"\r\n\r\n")[0])
        with contextlib.suppress(OSError, TimeoutError):  # then the server closes
            async with asyncio.timeout(2):
                while await reader.read(1 << 16):
                    pass
                return str(status), time.monotonic() - start
        return f"{status} (left open)", time.monotonic() - start
    except OSError as error:
        return type(error).__name__, time.monotonic() - start
    finally:
        writer.transport.abort()


async def raw_hostile(t: Traffic, port: int, header_timeout: float) -> None:
    """Requests no HTTP client would send: a garbage request line, headers that never
    finish (sent at once, or a few bytes at a time), and a hang-up in the middle of them.
    Each must be answered (``400``, or ``408`` within the header timeout) and closed."""
    head = b"POST /api/v1/sessions HTTP/1.1\r\nHost: soak\r\nAuthorization: Bearer tr_dev_"
    wait = header_timeout + 3
    cases: dict[str, tuple[list[bytes], float, float]] = {
        "garbage request": ([b"\x16\x03\x01\x02\x00 NONSENSE\r\n\r\n"], 0, 5),
        "half-sent headers": ([head], 0, wait),
        "trickled headers": ([head[i : i + 4] for i in range(0, len(head), 4)], 0.25, wait),
        "hang-up mid-headers": ([head], 0, 0),
    }
    while not t.stopping.is_set():
        await t.up.wait()
        name = t.random.choice(sorted(cases))
        parts, gap, limit = cases[name]
        epoch = t.epoch
        try:
            outcome, took = await raw_exchange(port, parts, gap, limit)
        except OSError as error:
            outcome, took = type(error).__name__, 0.0
        if epoch != t.epoch or not t.up.is_set():
            outcome = KILLED
        elif name in HEADER_CASES and outcome == "408" and took > header_timeout + 2:
            outcome += " (late)"
        t.tally.hostile[name][outcome] += 1
        if outcome[:3].isdigit():  # a 5xx here fails the run as any other
            t.tally.status(f"raw: {name}", int(outcome[:3]), {})
        await t.pause(0.5)
