"""Helpers for the fake's own tests. The spec checker, keys and the server runner are the
contract suite's (``contract_tests``), reused here."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

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
