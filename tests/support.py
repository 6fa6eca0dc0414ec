"""Helpers for the fake's own tests. The spec checker, keys and the server runner are the
contract suite's (``contract_tests``), reused here."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from contract_tests.client import new_key
from contract_tests.targets import ServedFake as ServerProcess

__all__ = ["ServerProcess", "new_key"]

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "openapi.yaml"
ADMIN_SPEC_PATH = ROOT / "mock_server" / "openapi" / "admin.yaml"


def session_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "chat.agent",
        "taskIdentifier": "my-chat",
        "triggerConfig": {"basePayload": {"chatId": "c1"}},
    }
    body.update(overrides)
    return body


class Api:
    """A client bound to one environment (one secret key) of the fake."""

    def __init__(self, client: httpx.AsyncClient, mode: str, key: str | None = None) -> None:
        self.client = client
        self.mode = mode
        self.key = key or new_key()

    @property
    def deployed(self) -> bool:
        return self.mode == "deployed"

    def auth(self, credential: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {credential or self.key}"}

    async def request(
        self, method: str, path: str, *, credential: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {**self.auth(credential), **kwargs.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def create(self, credential: str | None = None, **fields: Any) -> httpx.Response:
        return await self.request(
            "POST", "/api/v1/sessions", json=session_body(**fields), credential=credential
        )

    async def created(self, **fields: Any) -> dict[str, Any]:
        response = await self.create(**fields)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def retrieve(self, ref: str, credential: str | None = None) -> httpx.Response:
        return await self.request(
            "GET", f"/api/v1/sessions/{quote(ref, safe='')}", credential=credential
        )

    async def update(self, ref: str, body: Any, credential: str | None = None) -> httpx.Response:
        return await self.request(
            "PATCH", f"/api/v1/sessions/{quote(ref, safe='')}", json=body, credential=credential
        )

    async def close(
        self, ref: str, body: Any = None, credential: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        if body is None and "content" not in kwargs:
            body = {}
        return await self.request(
            "POST",
            f"/api/v1/sessions/{quote(ref, safe='')}/close",
            json=body,
            credential=credential,
            **kwargs,
        )

    async def list(self, params: Any = None, credential: str | None = None) -> httpx.Response:
        return await self.request("GET", "/api/v1/sessions", params=params, credential=credential)

    async def set_clock(self, **body: Any) -> dict[str, Any]:
        response = await self.client.post("/_mock/clock", json=body)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]


def raw_http(port: int, request: bytes, *, timeout: float = 5.0) -> bytes:
    """Send bytes on a fresh connection and return everything the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except TimeoutError:
            pass
        return b"".join(chunks)


def status_and_json(raw: bytes) -> tuple[int, Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body) if body else None
