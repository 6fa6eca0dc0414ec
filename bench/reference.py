"""The practical limit: a bare ASGI app doing the same dictionary work as trigger-mock's
hot paths (create with ``externalId`` idempotency, retrieve, a page of the newest 20,
close), with orjson and no framework, validation, security or semantics beyond that.

    python bench/reference.py PORT [STORED]

STORED sessions (``stored-0`` …) are in it from the start, as the fake's seed file gives.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import orjson
import uvicorn

Scope = dict[str, Any]


class Reference:
    def __init__(self, stored: int = 0) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.counter = 0
        for n in range(stored):
            self.create({"type": "chat.agent", "externalId": f"stored-{n}", "tags": []})

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        status, payload = self.route(scope["method"], scope["path"], body)
        data = orjson.dumps(payload)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})

    def route(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if parts[:3] != ["api", "v1", "sessions"]:
            return 404, {"error": "Not found"}
        if len(parts) == 3 and method == "POST":
            return self.create(orjson.loads(body))
        if len(parts) == 3 and method == "GET":
            return 200, {"data": [self.sessions[k] for k in self.order[-20:][::-1]]}
        session = self.sessions.get(parts[3])
        if session is None:
            return 404, {"error": "Session not found"}
        if len(parts) == 5 and parts[4] == "close" and method == "POST":
            session["closedAt"] = session["closedAt"] or time.time()
            return 200, session
        return 200, session

    def create(self, request: dict[str, Any]) -> tuple[int, Any]:
        external_id = str(request.get("externalId"))
        if external_id in self.sessions:
            return 200, {**self.sessions[external_id], "isCached": True}
        self.counter += 1
        session = {
            **request,
            "id": f"session_{self.counter:025d}",
            "createdAt": time.time(),
            "closedAt": None,
            "isCached": False,
        }
        self.sessions[external_id] = session
        self.order.append(external_id)
        return 201, session


if __name__ == "__main__":
    uvicorn.run(
        Reference(int(sys.argv[2]) if len(sys.argv) > 2 else 0),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        access_log=False,
        http="httptools",
        loop="uvloop",
    )
