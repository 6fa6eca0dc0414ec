"""The edge's two routes answer alike: the direct one (no rule can fire, documented
fidelity; the limiter off or on) and the layered one (a fault rule armed, here for another
environment, so it never fires). And the list's remembered query arguments are only
arguments: answers follow the store, and what the handler gets cannot be changed."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from mock_server.app import MockApp, create_app
from mock_server.core.clock import ControllableClock
from mock_server.core.ids import IdSource
from mock_server.core.settings import Settings
from mock_server.core.specs import ADMIN_SPEC_PATH, load_spec
from mock_server.http.failures.reader import RuleReader
from mock_server.http.fastlane import MAX_KNOWN_QUERIES
from tests.support import asgi_exchange

KEY = "tr_dev_edgeroutes0000"
AUTH = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
CREATE = {
    "type": "chat.agent",
    "externalId": "edge-1",
    "taskIdentifier": "my-chat-agent",
    "triggerConfig": {"basePayload": {"chatId": "c", "big": 2**70}},
    "tags": ["a", "b"],
    "metadata": {"odd": "\udc00", "n": 1.5},
}
EXCHANGES: list[tuple[str, str, Any, dict[str, str]]] = [
    ("POST", "/api/v1/sessions", CREATE, {**AUTH, "Origin": "http://app.test"}),
    ("POST", "/api/v1/sessions", CREATE, AUTH),  # cached
    ("GET", "/api/v1/sessions/edge-1", None, {**AUTH, "Origin": "http://app.test"}),
    ("GET", "/api/v1/sessions?page%5Bsize%5D=1", None, AUTH),
    ("GET", "/api/v1/sessions?page%5Bsize%5D=0", None, AUTH),  # refused by the spec
    ("OPTIONS", "/api/v1/sessions", None, {"Origin": "http://app.test",
                                           "Access-Control-Request-Headers": "authorization"}),
    ("GET", "/api/v1/sessions/%FF", None, AUTH),  # not UTF-8
    ("GET", "/api/v1/sessions/a%2Fb", None, AUTH),
    ("GET", "/api/v1/sessions/edge-1", None, {}),  # no key
    ("GET", "/api/v1/nowhere", None, AUTH),
    ("POST", "/api/v1/sessions/edge-1/close", {"reason": "done"}, AUTH),
]  # fmt: skip


def app(*, layered: bool, rate_limit: str = "off") -> MockApp:
    clock = ControllableClock(lambda: 1_800_000_000_000)
    mock = create_app(Settings(rate_limit=rate_limit), clock=clock, ids=IdSource(clock, seed=7))
    if layered:
        schema = load_spec(ADMIN_SPEC_PATH)["components"]["schemas"]["FaultRule"]
        rule = {"match": {"environment": "tr_dev_someoneelse0000"}, "action": {"status": 500}}
        mock.state.faults.add(RuleReader(schema, frozenset()).read(rule))
    return mock


def exchange(mock: MockApp, method: str, target: str, body: Any, headers: dict[str, str]) -> Any:
    raw = None if body is None else json.dumps(body).encode()
    status, sent, content = asyncio.run(asgi_exchange(mock, method, target, raw, headers))
    return status, [h for h in sent if h[0] != b"date"], content


@pytest.mark.parametrize("rate_limit", ["off", "6/60"])
def test_both_routes_give_the_same_answers_and_journal(rate_limit: str) -> None:
    direct = app(layered=False, rate_limit=rate_limit)
    layered = app(layered=True, rate_limit=rate_limit)
    assert not direct.asgi.failures.book.armed and layered.asgi.failures.book.armed  # type: ignore[attr-defined]
    statuses = []
    for method, target, body, headers in EXCHANGES:
        ours = exchange(direct, method, target, body, headers)
        theirs = exchange(layered, method, target, body, headers)
        assert ours == theirs, f"{method} {target}"
        statuses.append(ours[0])
        limited = any(name == b"x-ratelimit-limit" for name, _ in ours[1])
        assert limited == (rate_limit != "off" and "Authorization" in headers), target
    if rate_limit != "off":  # past 6 keyed requests the limiter refuses, with no CORS
        assert statuses.count(429) == 3
        refused = exchange(direct, *EXCHANGES[2][:3], EXCHANGES[2][3])
        assert refused == exchange(layered, *EXCHANGES[2][:3], EXCHANGES[2][3])
        assert refused[0] == 429
        assert not any(name.startswith(b"access-control") for name, _ in refused[1])
    assert direct.lane is not None and direct.lane.answered > 0

    def journal(mock: MockApp) -> list[Any]:
        entries = mock.state.journal.find(_everything(), 100)
        return [
            (e.method, e.path, e.status, e.request_bytes, e.response_bytes,
             sorted(e.response_headers), b"".join(e.response_body))
            for e in entries
        ]  # fmt: skip

    assert journal(direct) == journal(layered)
    assert len(journal(direct)) == len(EXCHANGES) + (rate_limit != "off")


def _everything() -> Any:
    from mock_server.http.journal import Query

    return Query()


def test_cors_comes_from_the_edge_on_the_direct_route() -> None:
    mock = app(layered=False)
    status, headers, _ = exchange(mock, *EXCHANGES[0][:3], EXCHANGES[0][3])
    assert status == 201
    assert (b"access-control-allow-origin", b"http://app.test") in headers
    mock.asgi.cors = False  # type: ignore[attr-defined]
    _, headers, _ = exchange(mock, *EXCHANGES[2][:3], EXCHANGES[2][3])
    assert not any(name.startswith(b"access-control") for name, _ in headers)


def test_a_known_list_query_follows_the_store() -> None:
    mock = app(layered=False)
    target = "/api/v1/sessions?page%5Bsize%5D=5&filter%5Btags%5D=a"
    _, _, first = exchange(mock, "GET", target, None, AUTH)
    assert json.loads(first)["data"] == []
    exchange(mock, "POST", "/api/v1/sessions", CREATE, AUTH)
    _, _, second = exchange(mock, "GET", target, None, AUTH)
    assert [row["externalId"] for row in json.loads(second)["data"]] == ["edge-1"]
    assert mock.lane is not None
    known = [q for ops in mock.lane.lane.values() for op in ops for q in (op.queries or {})]
    assert known == [target.split("?")[1].encode()]


def test_remembered_query_arguments_cannot_be_changed() -> None:
    mock = app(layered=False)
    target = "/api/v1/sessions?filter%5Btags%5D=a,b"
    exchange(mock, "GET", target, None, AUTH)
    assert mock.lane is not None
    (operation,) = [op for ops in mock.lane.lane.values() for op in ops if op.queries is not None]
    arguments = next(iter(operation.queries.values()))  # type: ignore[union-attr]
    with pytest.raises(TypeError):
        arguments["filter"]["tags"] = ["c"]
    assert arguments["filter"]["tags"] == ("a", "b")


def test_remembered_queries_are_bounded() -> None:
    mock = app(layered=False)
    for n in range(MAX_KNOWN_QUERIES + 3):
        status, _, _ = exchange(mock, "GET", f"/api/v1/sessions?filter%5Btags%5D=t{n}", None, AUTH)
        assert status == 200
    assert mock.lane is not None
    sizes = [len(op.queries) for ops in mock.lane.lane.values() for op in ops if op.queries]
    assert sizes and max(sizes) <= MAX_KNOWN_QUERIES
