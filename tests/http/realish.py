"""A stand-in for a real target: the fake behind a proxy that hides ``/_mock/``, so the
contract suite treats it as an implementation it knows nothing about.

    python -m tests.http.realish UPSTREAM_URL PORT
"""

from __future__ import annotations

import sys
from typing import Any

import httpx
import uvicorn
from starlette.types import Receive, Scope, Send

HOP_BY_HOP = {b"host", b"content-length", b"transfer-encoding", b"connection"}


def proxy(upstream: str) -> Any:
    client = httpx.AsyncClient(base_url=upstream, timeout=60)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        if raw_path.startswith(b"/_mock/"):
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"not here"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        url = raw_path.decode("latin-1") + (
            "?" + scope["query_string"].decode("latin-1") if scope["query_string"] else ""
        )
        headers = [(k, v) for k, v in scope["headers"] if k not in HOP_BY_HOP]
        request = client.build_request(
            scope["method"], httpx.URL(url), headers=headers, content=body
        )
        response = await client.send(request)
        out = [(k.lower(), v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP]
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        await send({"type": "http.response.body", "body": response.content})

    return app


if __name__ == "__main__":
    uvicorn.run(proxy(sys.argv[1]), port=int(sys.argv[2]), log_level="warning")
