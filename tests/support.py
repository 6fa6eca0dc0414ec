"""Test helpers: a client for the fake that checks every response against openapi.yaml,
and a runner for a real ``trigger-mock serve`` process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from openapi_core import OpenAPI
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.testing import MockRequest, MockResponse

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "openapi.yaml"
ADMIN_SPEC_PATH = ROOT / "mock_server" / "openapi" / "admin.yaml"


ROW_KEYS = [
    "id",
    "externalId",
    "type",
    "taskIdentifier",
    "triggerConfig",
    "currentRunId",
    "tags",
    "metadata",
    "closedAt",
    "closedReason",
    "expiresAt",
    "createdAt",
    "updatedAt",
]
"""A session row's keys, in the order the API sends them."""


def new_key(kind: str = "dev") -> str:
    return f"tr_{kind}_{uuid.uuid4().hex[:20]}"


def session_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "chat.agent",
        "taskIdentifier": "my-chat",
        "triggerConfig": {"basePayload": {"chatId": "c1"}},
    }
    body.update(overrides)
    return body


class SpecChecker:
    """Validates responses against the spec with openapi-core (a second, independent
    implementation of the contract besides Connexion's own response validation)."""

    def __init__(self) -> None:
        self.apis = [
            OpenAPI.from_file_path(str(SPEC_PATH)),
            OpenAPI.from_file_path(str(ADMIN_SPEC_PATH)),
        ]
        self.checked = 0

    def check(self, response: httpx.Response) -> None:
        request = response.request
        raw_path = request.url.raw_path.decode("ascii").split("?", 1)[0]
        mock_request = MockRequest(
            "http://127.0.0.1:8080",
            request.method.lower(),
            raw_path,
            args=dict(request.url.params),
            headers=dict(request.headers),
        )
        mock_response = MockResponse(
            response.content,
            status_code=response.status_code,
            headers=dict(response.headers),
            content_type=response.headers.get("content-type", ""),
        )
        for api in self.apis:
            try:
                api.validate_response(mock_request, mock_response)
            except (PathNotFound, OperationNotFound):
                continue
            except Exception as exc:
                raise AssertionError(
                    f"{request.method} {raw_path} -> {response.status_code} {response.text}"
                    f" does not conform to the spec: {exc!r}"
                ) from exc
            self.checked += 1
            return


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """A real ``python -m mock_server serve`` child process."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "mock_server", "serve", "--port", str(self.port), *args]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early: {self.output()}")
            try:
                if httpx.get(f"{self.base_url}/_mock/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("server did not become ready")

    def stop(self, sig: int | None = None, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            if sig is None:
                self.process.terminate()
            else:
                self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    def output(self) -> str:
        if self.process.poll() is None:
            return ""
        assert self.process.stdout is not None
        return self.process.stdout.read()


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
