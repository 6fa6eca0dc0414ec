"""Bytes per stored session, for sessions made through the whole app by ``POST
/api/v1/sessions`` (what a test suite or the SDK does), not by calling the store.

    python bench/memory.py [COUNT] [--heap]

Reports the resident-set growth per session and, with ``--heap``, the Python heap growth
(tracemalloc, on a second fill; several times slower), for sessions shaped like the SDK's
``sessions.start``: an ``externalId``, a tag, and a small ``triggerConfig``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import tracemalloc
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from processes import CREATE_BODY, SECRET_KEY, tree_rss_kib

from mock_server.app import MockApp, create_app
from mock_server.core.settings import Settings

HEADERS = [
    (b"authorization", f"Bearer {SECRET_KEY}".encode()),
    (b"content-type", b"application/json"),
]


async def fill(app: MockApp, count: int, prefix: str) -> None:
    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 201:
            raise RuntimeError(f"create answered {message['status']}")

    for n in range(count):
        body = json.dumps({**CREATE_BODY, "externalId": f"{prefix}-{n:07d}"}).encode()

        async def receive(body: bytes = body) -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/api/v1/sessions",
            "raw_path": b"/api/v1/sessions",
            "query_string": b"",
            "headers": [*HEADERS, (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 8080),
            "scheme": "http",
            "http_version": "1.1",
            "root_path": "",
            "asgi": {"version": "3.0"},
        }
        await app(scope, receive, send)


def main(count: int, heap_too: bool = False) -> dict[str, int]:
    app = create_app(Settings())
    asyncio.run(fill(app, 100, "warm"))  # compile validators, fill caches
    app.state.store.reset()
    gc.collect()
    rss_before = tree_rss_kib(os.getpid())
    asyncio.run(fill(app, count, "rss"))
    gc.collect()
    rss = (tree_rss_kib(os.getpid()) - rss_before) * 1024
    assert app.state.store.count() == count
    result = {"sessions": count, "rss_bytes_per_session": round(rss / count)}
    if heap_too:
        app.state.store.reset()
        gc.collect()
        tracemalloc.start()
        asyncio.run(fill(app, count, "heap"))
        gc.collect()
        heap, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result["heap_bytes_per_session"] = round(heap / count)
    return result


if __name__ == "__main__":
    numbers = [int(arg) for arg in sys.argv[1:] if arg.isdigit()]
    print(json.dumps(main(numbers[0] if numbers else 100_000, "--heap" in sys.argv)))
