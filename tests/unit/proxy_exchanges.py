"""Exchanges built by hand for the proxy's unit tests, and the session rows in them."""

from __future__ import annotations

from typing import Any, Final

import orjson

from mock_server.app.proxy import checked_spec
from mock_server.proxy.checker import ExchangeChecker, Expect
from mock_server.proxy.exchange import Exchange
from mock_server.proxy.violations import Finding

Header = tuple[str, str]
JSON: Final = ("content-type", "application/json; charset=utf-8")
SSE: Final = ("content-type", "text/event-stream; charset=utf-8")
AUTH: Final = ("authorization", "Bearer tr_dev_unit")
ORIGIN: Final = ("origin", "https://app.example")
SESSION_ID: Final = "session_cmx5uqmeo000101nfapfzgeiw"
RUN_ID: Final = "run_8rgcp08v4f1h3ebn75vs7cqu4c"
STAMP: Final = "2026-12-02T08:16:28.656Z"
CREATE: Final = b'{"type":"chat.agent","taskIdentifier":"t","triggerConfig":{"basePayload":{}}}'
V2: Final = (
    b": a keep-alive comment\n\n"
    b'event: batch\nid: 1,1,12\ndata: {"records":[{"seq_num":0,"body":"hi"}]}\n\n'
    b"event: ping\ndata: {}\n\n"
    b"data: [DONE]\n\n"
)
"""An event stream in wire format v2."""


def session(**changes: Any) -> dict[str, Any]:
    """A session row as the API shows it, with ``changes``."""
    row: dict[str, Any] = {
        "id": SESSION_ID,
        "externalId": "e1",
        "type": "chat.agent",
        "taskIdentifier": "t",
        "triggerConfig": {"basePayload": {}},
        "currentRunId": RUN_ID,
        "tags": [],
        "metadata": None,
        "closedAt": None,
        "closedReason": None,
        "expiresAt": None,
        "createdAt": STAMP,
        "updatedAt": STAMP,
    }
    return {**row, **changes}


def created(**changes: Any) -> dict[str, Any]:
    """A create's answer for a new session, with ``changes``."""
    extra = {"runId": RUN_ID, "publicAccessToken": "eyJ.eyJ.sig", "isCached": False}
    return session(**{**extra, **changes})


def exchange(
    method: str,
    path: str,
    status: int,
    *,
    request: tuple[Header, ...] = (AUTH,),
    sent: bytes | object = b"",
    answer: tuple[Header, ...] = (JSON,),
    body: bytes | object = b"",
    operation: str | None = None,
) -> Exchange:
    """A complete exchange; ``sent`` and ``body`` that are not bytes go as JSON."""
    made = Exchange(1, 0, method, path, "", list(request), operation=operation, status=status)
    made.response_headers = list(answer)
    for side, content in ((made.request_body, sent), (made.response_body, body)):
        side.add(content if isinstance(content, bytes) else orjson.dumps(content))
    return made


def checker(expect: Expect) -> ExchangeChecker:
    """A checker of the API's spec as ``expect`` reads it, as the proxy builds it."""
    return ExchangeChecker(checked_spec(expect), expect)


def rules_of(findings: list[Finding]) -> list[str]:
    return [finding.rule for finding in findings]
