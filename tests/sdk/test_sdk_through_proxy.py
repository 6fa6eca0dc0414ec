"""The official SDK's tests again, through ``trigger-mock proxy`` in front of the echo fake,
the proxy expecting the fake's mode (deployed here; the documented run is the recording
proxy's in ``test_sdk_recording.py``, which makes the same checks): the SDK tests pass, the
proxy finds no violation, and it changes no byte of any answer. The fake's journal and the
proxy's hold the same exchanges in the same order (event streams and the rest each in
order), each with the same answer.

The S2 credentials that initialize hands out name the fake's own S2 port, so the SDK's
``.out`` writer talks to the fake directly: those requests are in the fake's journal only.
The faults tests set their rules through the proxy (it passes ``/_mock/faults`` on); the
answers those rules make carry ``x-trigger-mock-fault`` and the proxy leaves them unchecked.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from mock_server.proxy.forward import HOP_BY_HOP, VIOLATIONS_HEADER
from mock_server.testing import MockProxy, MockServer

from .test_official_sdk import echo_fake_for, run_sdk_tests

API_PREFIXES = ("/api/", "/realtime/", "/engine/")
NOT_COMPARED = frozenset(
    {
        VIOLATIONS_HEADER.decode(),  # the one header the proxy adds
        # Written by the fake's HTTP server on the wire, after its journal saw the answer;
        # the proxy passes it on as it came.
        "date",
        *HOP_BY_HOP,
    }
)


@pytest.fixture(scope="module", params=["deployed"])
def proxied_fake(request: pytest.FixtureRequest) -> Iterator[tuple[MockServer, MockProxy]]:
    with (
        echo_fake_for(request.param) as fake,
        MockProxy(fake.base_url, "--expect", request.param) as proxy,
    ):
        yield fake, proxy


def journal(base_url: str) -> list[dict[str, Any]]:
    """Every entry of a journal in full, oldest first."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        listing = client.get("/_mock/requests", params={"limit": 1000}).json()
        assert listing["total"] == len(listing["requests"]), "entries dropped out of the journal"
        numbers = [entry["number"] for entry in reversed(listing["requests"])]
        return [client.get(f"/_mock/requests/{n}").json() for n in numbers]


def exchange(entry: dict[str, Any]) -> tuple[str, str, str, int]:
    return entry["method"], entry["path"], entry["query"], entry["status"]


def is_stream(entry: dict[str, Any]) -> bool:
    """An event stream is journaled when it ends, which the proxy sees a moment after the
    fake: a short exchange made meanwhile may be journaled before it on one side only."""
    return any(
        name.lower() == "content-type" and value.startswith("text/event-stream")
        for name, value in entry["response"]["headers"]
    )


def answer(entry: dict[str, Any]) -> dict[str, Any]:
    """The answer as it went out: status, headers (in order, but those the proxy may add or
    drop), body bytes."""
    response = entry["response"]
    body = response["body"]
    return {
        "status": response["status"],
        "headers": [
            (name.lower(), value)
            for name, value in response["headers"]
            if name.lower() not in NOT_COMPARED
        ],
        "body": base64.b64decode(body) if response["bodyEncoding"] == "base64" else body.encode(),
        "truncated": response["truncated"],
    }


@dataclass(frozen=True)
class Passage:
    """What a proxy saw of an SDK run, read before it stopped."""

    proxy_url: str
    violations: list[dict[str, Any]]
    summary: dict[str, Any]
    seen: list[dict[str, Any]]
    """The proxy's journal."""
    behind: list[dict[str, Any]]
    """The fake's journal."""

    @classmethod
    def read(cls, fake: MockServer, proxy: MockProxy) -> Passage:
        return cls(
            proxy.base_url,
            proxy.violations(),
            proxy.summary(),
            journal(proxy.base_url),
            journal(fake.base_url),
        )


def test_the_sdk_through_the_proxy_breaks_no_rule_and_changes_no_byte(
    proxied_fake: tuple[MockServer, MockProxy],
) -> None:
    fake, proxy = proxied_fake
    run_sdk_tests(proxy.base_url)
    assert_passed_unchanged(Passage.read(fake, proxy))


def assert_passed_unchanged(passage: Passage) -> None:
    """No violation, and every answer as the fake sent it (S2 writes past the proxy)."""
    assert passage.violations == []
    summary = passage.summary
    assert summary["violations"] == 0
    assert summary["leftAlone"].get("fault"), "the faults tests' answers passed unchecked"
    seen, behind = passage.seen, passage.behind
    api = [entry for entry in behind if entry["path"].startswith(API_PREFIXES)]
    assert len(seen) == len(api)
    for streams in (False, True):
        through_all = [entry for entry in seen if is_stream(entry) is streams]
        direct_all = [entry for entry in api if is_stream(entry) is streams]
        assert [exchange(entry) for entry in through_all] == [
            exchange(entry) for entry in direct_all
        ]
        for through, direct in zip(through_all, direct_all, strict=True):
            assert answer(through) == answer(direct), exchange(direct)
            assert through["fault"] == direct["fault"], exchange(direct)

    endpoints = {
        urlsplit(value).netloc
        for entry in seen
        for name, value in entry["response"]["headers"]
        if name.lower() == "x-s2-endpoint"
    }
    s2 = [entry for entry in behind if entry["path"].startswith("/s2/")]
    written = {urlsplit(entry["url"]).netloc for entry in s2}
    assert endpoints, "initialize handed out S2 credentials"
    assert urlsplit(passage.proxy_url).netloc not in endpoints
    assert written == endpoints, "the .out writer went to the fake's S2 port, past the proxy"
