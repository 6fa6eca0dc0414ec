"""Helpers for the fake's own tests: request bodies, raw HTTP and ASGI exchanges. Keys
are the contract suite's; serving the fake is :class:`mock_server.testing.MockServer`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping, MutableMapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from starlette.types import ASGIApp

from contract_tests.harness.client import new_key

__all__ = ["new_key"]

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


def refused_start(*args: str) -> str:
    """Run ``trigger-mock serve ARGS``, which must refuse to start (status 2, before
    serving anything); what it printed to stderr."""
    command = [sys.executable, "-m", "mock_server", "serve", "--port", "0", *args]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2, result.stdout + result.stderr
    return result.stderr


def wait_until_answering(url: str, timeout: float = 10.0) -> None:
    """Poll ``url`` until something answers (any status); fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


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


Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
Headers = Mapping[str, str] | Sequence[tuple[str, str]]


async def asgi_exchange(
    app: ASGIApp,
    method: str,
    target: str,
    body: bytes | Sequence[bytes] | None,
    headers: Headers,
    *,
    profile: Callable[[FrameType, str, Any], object] | None = None,
) -> Answer:
    """One request straight through an ASGI app: its status, sorted headers and body.

    ``headers`` is a mapping or a list of pairs (to repeat a header); names are sent in
    lower case, as ASGI servers pass them. ``body`` as a list of byte strings arrives in
    that many messages, with no ``Content-Length`` added (a chunked upload); as bytes, in
    one message with its length. ``profile`` (a ``sys.setprofile`` function) is on only
    while the app runs."""
    path, _, query = target.partition("?")
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in pairs]
    chunks_in = [body] if isinstance(body, bytes) else list(body or [b""])
    if isinstance(body, bytes) and "content-length" not in {k.lower() for k, _ in pairs}:
        raw_headers.append((b"content-length", str(len(body)).encode()))
    pending = [
        {"type": "http.request", "body": chunk, "more_body": n < len(chunks_in) - 1}
        for n, chunk in enumerate(chunks_in)
    ]

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    started: list[MutableMapping[str, Any]] = []
    chunks: list[bytes] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.append(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(),
        "query_string": query.encode(), "root_path": "", "headers": raw_headers,
        "server": ("127.0.0.1", 8080), "client": ("127.0.0.1", 50000),
    }  # fmt: skip
    sys.setprofile(profile)
    try:
        await app(scope, receive, send)
    finally:
        sys.setprofile(None)
    return started[0]["status"], sorted(started[0]["headers"]), b"".join(chunks)


@contextlib.asynccontextmanager
async def asgi_client(app: ASGIApp, key: str) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on ``app`` in process, with ``key`` as its secret key."""
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://fake", headers=headers
    ) as client:
        yield client
