"""The soak's ordinary traffic: session calls and channel writes, each write's answer
entered in the books.

Each session belongs to one session worker, so its writes never race each other and the
last answer about it is the state it is in. Channel writers pick any session; a stream's
records are told apart by their sequence numbers, which the answers give.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any
from urllib.parse import quote

import httpx
from soak_checks import Acked, SessionBook, digest
from soak_traffic import FAULT, LIMIT, Bucket, Failure, Session, Traffic

TAGS = ("red", "green", "blue", "vip", "beta", "eu", "us", "trial")
SIDE_CHANNELS = ("tools", "status")
_BLOCK = "".join(random.Random(7).choices("abcdefghijklmnopqrstuvwxyz0123456789", k=2 << 20))


def text_of(size: int, rng: random.Random, label: str) -> str:
    start = rng.randrange(0, len(_BLOCK) - size)
    return f"{label}:{_BLOCK[start : start + size]}"


def create_body(external_id: str | None, rng: random.Random) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": rng.choice(("chat.agent", "soak")),
        "taskIdentifier": "soak-task",
        "triggerConfig": {"basePayload": {"chatId": external_id}},
        "tags": rng.sample(TAGS, 2),
    }
    if external_id is not None:
        body["externalId"] = external_id
    return body


def definite_refusal(answer: httpx.Response | Failure) -> bool:
    """An answer saying the write was not carried out: a 4xx of the API's own, or a
    bound's refusal. A fault's answer may come after the write (``afterStore``)."""
    if isinstance(answer, Failure) or answer.headers.get(FAULT) is not None:
        return False
    return 400 <= answer.status_code < 500 or answer.headers.get(LIMIT) is not None


async def create(t: Traffic, owner: int, key: str, *, fresh: bool) -> Session | None:
    mine = t.open_sessions(owner)
    if not fresh and mine:
        session = t.random.choice(mine)
        answer = await t.call(
            "create (cached)", "POST", "/api/v1/sessions", key=key,
            json=create_body(session.external_id, t.random),
        )  # fmt: skip
        if isinstance(answer, httpx.Response) and answer.status_code == 200:
            seen(t, session, answer)
        elif isinstance(answer, httpx.Response) and answer.status_code == 409:
            session.closed = True  # a close whose answer was lost did happen
        return session
    if not fresh:
        return None
    external_id = t.next_id(f"s{owner}")
    answer = await t.call(
        "create", "POST", "/api/v1/sessions", key=key, json=create_body(external_id, t.random)
    )
    if not isinstance(answer, httpx.Response) or answer.status_code != 201:
        return None
    return adopt(t, key, external_id, answer, owner)


def adopt(
    t: Traffic,
    key: str,
    external_id: str,
    answer: httpx.Response,
    owner: int,
    *,
    shared: bool = True,
) -> Session:
    """A session the server just created: booked, and (if ``shared``) one the writers and
    readers may use. The fault worker's are not shared: no other request may use up the
    rules made for its environment."""
    row = answer.json()
    session = Session(key, external_id, row["id"], row["publicAccessToken"], owner, row["runId"])
    session.book = SessionBook(key, external_id, row["id"])
    session.book.seen(time.monotonic(), row)
    t.books[(key, external_id)] = session.book
    if shared:
        t.sessions.append(session)
    return session


def seen(t: Traffic, session: Session, answer: httpx.Response) -> None:
    row = answer.json()
    if row.get("id") != session.session_id:
        t.tally.anomaly(f"{session.external_id}: answered as {row.get('id')}")
        return
    session.run_id = row.get("currentRunId") or session.run_id
    session.closed = row["closedAt"] is not None
    if session.book is not None:
        session.book.seen(time.monotonic(), row)


async def retrieve(t: Traffic, session: Session) -> None:
    how = t.random.random()
    ref = session.session_id if how < 0.3 else quote(session.external_id, safe="")
    key = session.token if how > 0.8 else session.key
    epoch = t.epoch
    answer = await t.call("retrieve", "GET", f"/api/v1/sessions/{ref}", key=key)
    if isinstance(answer, httpx.Response) and answer.status_code == 200:
        seen(t, session, answer)
    elif isinstance(answer, httpx.Response) and answer.status_code == 404 and t.epoch == epoch:
        # (A kill while the request was out may have lost the session; the checks after
        # the restart judge that, and forget it.)
        t.tally.anomaly(f"{session.external_id}: 404 on retrieve, after it was acknowledged")


async def update(t: Traffic, session: Session) -> None:
    tags = sorted(t.random.sample(TAGS, t.random.randint(0, 3)))
    metadata = None if t.random.random() < 0.2 else {"n": t.next_id("m"), "w": session.owner}
    assert session.book is not None
    session.book.tried(time.monotonic(), (tuple(tags), _canonical(metadata)))
    body = {"tags": tags, "metadata": metadata}
    answer = await t.call(
        "update", "PATCH", f"/api/v1/sessions/{session.external_id}", key=session.key, json=body
    )
    if isinstance(answer, httpx.Response) and answer.status_code == 200:
        seen(t, session, answer)
    elif definite_refusal(answer):
        session.book.events.pop()


async def close(t: Traffic, session: Session) -> None:
    reason = t.random.choice(("done", "idle", "user left"))
    assert session.book is not None
    session.book.tried(time.monotonic(), closure=(True, reason))
    answer = await t.call(
        "close", "POST", f"/api/v1/sessions/{session.external_id}/close",
        key=session.key, json={"reason": reason},
    )  # fmt: skip
    if isinstance(answer, httpx.Response) and answer.status_code == 200:
        seen(t, session, answer)
    elif definite_refusal(answer):
        session.book.events.pop()


async def list_sessions(t: Traffic, key: str) -> None:
    params: dict[str, str] = {"page[size]": str(t.random.choice((5, 20, 100)))}
    if t.random.random() < 0.5:
        params["filter[tags]"] = t.random.choice(TAGS)
    if t.random.random() < 0.3:
        params["filter[status]"] = t.random.choice(("ACTIVE", "CLOSED"))
    for _ in range(3):
        answer = await t.call("list", "GET", "/api/v1/sessions", key=key, params=params)
        if not isinstance(answer, httpx.Response) or answer.status_code != 200:
            return
        after = answer.json().get("pagination", {}).get("next")
        if not after:
            return
        params["page[after]"] = after


async def tokens(t: Traffic, session: Session) -> None:
    scopes = [f"read:sessions:{session.external_id}"]
    body = {"scopes": scopes, "expirationTime": "15m"}
    answer = await t.call(
        "public token", "POST", "/api/v1/auth/public-tokens", key=session.key, json=body
    )
    if isinstance(answer, httpx.Response) and answer.status_code == 200:
        token = answer.json()["token"]
        got = await t.call(
            "retrieve (token)", "GET", f"/api/v1/sessions/{session.external_id}", key=token
        )
        if isinstance(got, httpx.Response) and got.status_code == 200:
            seen(t, session, got)
    await t.call("jwt claims", "POST", "/api/v1/auth/jwt/claims", key=session.key)


async def end_and_continue(t: Traffic, session: Session) -> None:
    body = {"callingRunId": session.run_id, "reason": "soak"}
    path = f"/api/v1/sessions/{session.external_id}/end-and-continue"
    answer = await t.call("end-and-continue", "POST", path, key=session.key, json=body)
    if isinstance(answer, httpx.Response) and answer.status_code == 200:
        session.run_id = answer.json().get("runId", session.run_id)


async def session_worker(t: Traffic, owner: int, key: str, creates: Bucket, closes: Bucket) -> None:
    while not t.stopping.is_set():
        roll, mine = t.random.random(), t.open_sessions(owner)
        session = t.random.choice(mine) if mine else None
        if roll < 0.15 or session is None:
            await create(t, owner, key, fresh=creates.try_take())
        elif roll < 0.30:
            await list_sessions(t, key)
        elif roll < 0.50:
            await retrieve(t, session)
        elif roll < 0.72:
            await update(t, session)
        elif roll < 0.80:
            if closes.try_take():
                await close(t, session)
        elif roll < 0.92:
            await tokens(t, session)
        else:
            await end_and_continue(t, session)
        await t.pause(0.03)


# --- channel writes -----------------------------------------------------------------------


def stream_path(ref: str, io: str, channel: str | None) -> str:
    middle = f"channels/{channel}/{io}" if channel else io
    return f"/realtime/v1/sessions/{quote(ref, safe='')}/{middle}"


def size_of(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.5:
        return rng.randint(20, 600)  # chat-sized parts
    if roll < 0.995:
        return rng.randint(8 << 10, 128 << 10)
    return rng.randint(600 << 10, 900 << 10)  # near S2's 1 MiB per record


async def append(t: Traffic, session: Session, written: Bucket) -> None:
    rng = t.random
    io = "out" if rng.random() < 0.6 else "in"
    channel = rng.choice(SIDE_CHANNELS) if rng.random() < 0.15 else None
    size = size_of(rng)
    await written.take(size)
    part = t.next_id("p")
    text = text_of(size, rng, part)
    by_token = io == "in" and channel is None and rng.random() < 0.3
    ref = session.session_id if rng.random() < 0.1 else session.external_id
    answer = await t.call(
        f"append .{io}" + (" (side)" if channel else "") + (" (token)" if by_token else ""),
        "POST", stream_path(ref, io, channel) + "/append",
        key=session.token if by_token else session.key,
        content=text.encode(), headers={"X-Part-Id": part},
    )  # fmt: skip
    if isinstance(answer, httpx.Response) and answer.status_code == 200:
        seq = answer.json().get("seq")
        if isinstance(seq, int):
            acked = Acked(time.monotonic(), digest(text), part)
            t.streams[(session.key, session.external_id, io, channel)][seq] = acked
    elif isinstance(answer, httpx.Response) and answer.status_code == 409:
        session.closed = True


async def read_back(t: Traffic, session: Session) -> None:
    io = t.random.choice(("in", "out"))
    path = stream_path(session.external_id, io, None)
    kept = t.streams.get((session.key, session.external_id, io, None))
    after = max(kept, default=0) - 3 if kept else 0
    if t.random.random() < 0.5:
        params = {"afterEventId": str(max(after, 0))}
        await t.call("records", "GET", path + "/records", key=session.key, params=params)
    else:
        await t.call("probe", "HEAD", path, key=session.key)


async def s2_append(t: Traffic, session: Session, written: Bucket, grants: dict[Any, Any]) -> None:
    rng = t.random
    io = rng.choice(("in", "out"))
    channel = rng.choice(SIDE_CHANNELS) if rng.random() < 0.2 else None
    where = (session.key, session.external_id, io, channel)
    if where not in grants or rng.random() < 0.1:
        answer = await t.call(
            "initialize", "PUT", stream_path(session.external_id, io, channel), key=session.key
        )
        if not isinstance(answer, httpx.Response) or answer.status_code != 202:
            return
        grants[where] = (answer.headers["x-s2-access-token"], answer.headers["x-s2-stream-name"])
    token, name = grants[where]
    bodies = [
        text_of(rng.randint(10, 64 << 10), rng, t.next_id("s2")) for _ in range(rng.randint(1, 6))
    ]
    await written.take(sum(map(len, bodies)))
    records = [{"body": body, "headers": [["soak", "1"]]} for body in bodies]
    answer = await t.call(
        "s2 append", "POST", f"/s2/v1/streams/{quote(name, safe='')}/records",
        key=token, json={"records": records},
    )  # fmt: skip
    if isinstance(answer, httpx.Response) and answer.status_code == 200:
        first, at = answer.json()["start"]["seq_num"], time.monotonic()
        for n, body in enumerate(bodies):
            t.streams[where][first + n] = Acked(at, digest(body), None)


async def writer(t: Traffic, written: Bucket, *, s2: bool) -> None:
    grants: dict[Any, Any] = {}
    while not t.stopping.is_set():
        session = t.pick()
        if session is None:
            await t.pause(0.1)
            continue
        roll = t.random.random()
        if s2 and roll < 0.8:
            await s2_append(t, session, written, grants)
        elif roll < 0.9:
            await append(t, session, written)
        else:
            await read_back(t, session)
        await t.pause(0.01)


def _canonical(metadata: Any) -> str:
    return json.dumps(metadata, sort_keys=True)
