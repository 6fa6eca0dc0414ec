"""Many readers of one session: every one of 200 concurrent SSE subscribers receives an
append, and the server keeps answering other requests while they wait. (How fast, and
how memory behaves with stalled readers, is measured in ``bench/sse_fanout.py``.)"""

from __future__ import annotations

import json
from collections.abc import Iterator

import anyio
import httpx
import pytest

from mock_server.testing import MockServer
from tests.support import new_key, session_body

pytestmark = pytest.mark.anyio
READERS = 200


@pytest.fixture(scope="module")
def fake() -> Iterator[MockServer]:
    served = MockServer("--log-level", "warning")
    served.start()
    yield served
    served.stop()


async def test_one_append_reaches_200_readers(fake: MockServer) -> None:
    key = new_key()
    auth = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=READERS + 10)
    async with httpx.AsyncClient(base_url=fake.base_url, limits=limits, timeout=30) as client:
        created = await client.post(
            "/api/v1/sessions", json=session_body(externalId="fan"), headers=auth
        )
        assert created.status_code == 201
        connected = anyio.Event()
        opened = 0
        received: list[int] = []

        async def read() -> None:
            nonlocal opened
            headers = {**auth, "Timeout-Seconds": "20"}
            async with client.stream(
                "GET", "/realtime/v1/sessions/fan/out", headers=headers
            ) as response:
                assert response.status_code == 200
                opened += 1
                if opened == READERS:
                    connected.set()
                async for line in response.aiter_lines():
                    if line.startswith('data: {"records"'):
                        received.extend(r["seq_num"] for r in json.loads(line[6:])["records"])
                        return

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                for _ in range(READERS):
                    group.start_soon(read)
                await connected.wait()
                # Other requests are served while 200 streams are open.
                assert (await client.get("/api/v1/sessions/fan", headers=auth)).status_code == 200
                appended = await client.post(
                    "/realtime/v1/sessions/fan/out/append", content=b"{}", headers=auth
                )
                assert appended.json() == {"ok": True, "seq": 0}
        assert received == [0] * READERS


async def test_readers_that_hang_up_are_let_go(fake: MockServer) -> None:
    auth = {"Authorization": f"Bearer {new_key()}"}

    async def live_readers_become(expected: int) -> None:
        async with httpx.AsyncClient(base_url=fake.base_url) as client:
            with anyio.fail_after(10):
                while True:
                    health = (await client.get("/_mock/health")).json()
                    if health["liveReaders"] == expected:
                        return
                    await anyio.sleep(0.05)

    async def hold(client: httpx.AsyncClient, opened: list[int], all_open: anyio.Event) -> None:
        headers = {**auth, "Timeout-Seconds": "600"}
        async with client.stream("GET", "/realtime/v1/sessions/x/in", headers=headers):
            opened.append(1)
            if len(opened) == 10:
                all_open.set()
            await anyio.sleep_forever()

    await live_readers_become(0)
    opened: list[int] = []
    all_open = anyio.Event()
    async with (
        httpx.AsyncClient(base_url=fake.base_url, timeout=30) as client,
        anyio.create_task_group() as group,
    ):
        for _ in range(10):
            group.start_soon(hold, client, opened, all_open)
        await all_open.wait()
        await live_readers_become(10)
        group.cancel_scope.cancel()  # the clients hang up
    await live_readers_become(0)
