"""The hot path's guard in CI: work per request, counted, not timed.

After warm-up a request must compile no schema validator, rebuild none of Connexion's
per-operation decorators, never call ``inspect.signature``, and stay within a budget of
Python function calls. These counts are the same on any machine, so a regression fails
here even where nobody runs ``bench/``. Budgets are the measured counts (Connexion 3.3,
Starlette 1.x) plus about 10%, and the fast lane's never above what it was before fault
rules, the limiter, the dashboard and the proxy landed (create 147, retrieve 176, list
261, close 213 at b83289c); raise one only with a benchmark run that says why.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from types import FrameType
from typing import Any

import pytest

from mock_server.app import MockApp, create_app
from mock_server.core.settings import Settings
from mock_server.core.specs import ADMIN_SPEC_PATH, load_spec
from mock_server.http.failures.reader import RuleReader
from tests.support import asgi_exchange

KEY = "tr_dev_hotpath000000"
CREATE = {
    "type": "chat.agent",
    "taskIdentifier": "my-chat-agent",
    "triggerConfig": {"basePayload": {"chatId": "c"}, "tags": ["chat"]},
    "tags": ["user:1"],
    "metadata": {"plan": "pro"},
}
# Python-level calls one request may make, warm: through Connexion, and in the fast lane.
BUDGETS = {"create": 582, "retrieve": 377, "list": 553, "close": 605}
LANE_BUDGETS = {"create": 145, "retrieve": 70, "list": 131, "close": 125}


class Calls:
    """Python function calls made while it is on (``sys.setprofile``), by name."""

    def __init__(self) -> None:
        self.names: Counter[str] = Counter()

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            self.names[frame.f_code.co_qualname] += 1

    @property
    def total(self) -> int:
        return sum(self.names.values())


def request(app: MockApp, method: str, path: str, body: Any = None) -> tuple[int, Calls]:
    calls = Calls()
    raw = None if body is None else json.dumps(body).encode()
    headers = {"Host": "127.0.0.1:8080", "Authorization": f"Bearer {KEY}"}
    if raw is not None:
        headers["Content-Type"] = "application/json"
    status, _, _ = asyncio.run(asgi_exchange(app, method, path, raw, headers, profile=calls))
    return status, calls


def each_kind(app: MockApp, n: int) -> dict[str, tuple[int, Calls]]:
    """One create, retrieve, list and close; session ``s-{n}`` is the one made."""
    return {
        "create": request(app, "POST", "/api/v1/sessions", {**CREATE, "externalId": f"s-{n}"}),
        "retrieve": request(app, "GET", f"/api/v1/sessions/s-{n}"),
        "list": request(app, "GET", "/api/v1/sessions?page[size]=20&filter[status]=ACTIVE"),
        "close": request(app, "POST", f"/api/v1/sessions/s-{n}/close", {"reason": "done"}),
    }


@pytest.fixture(params=["lane", "connexion"])
def warm_app(request: pytest.FixtureRequest) -> MockApp:
    """Warm, with the fast lane, and without it (as ``--validate-responses`` runs)."""
    app = create_app(Settings(fast_lane=request.param == "lane"))
    for n in range(3):
        each_kind(app, n)
    return app


def test_warm_requests_compile_no_validators(warm_app: MockApp) -> None:
    compiled = warm_app.validators.compiled
    assert compiled > 0  # the warm-up did compile them
    for n in range(10, 20):
        statuses = {kind: status for kind, (status, _) in each_kind(warm_app, n).items()}
        assert statuses == {"create": 201, "retrieve": 200, "list": 200, "close": 200}
    assert warm_app.validators.compiled == compiled


def test_warm_requests_rebuild_no_decorators(warm_app: MockApp) -> None:
    for kind, (_, calls) in each_kind(warm_app, 30).items():
        rebuilt = {
            name: calls.names[name]
            for name in ("signature", "BaseDecorator.decorate", "SchemaValidators._compile")
            if calls.names[name]
        }
        assert rebuilt == {}, f"{kind} rebuilt per request: {rebuilt}"


@pytest.mark.parametrize("kind", sorted(BUDGETS))
def test_requests_stay_within_their_call_budget(warm_app: MockApp, kind: str) -> None:
    status, calls = each_kind(warm_app, 40)[kind]
    assert status in (200, 201)
    budget = (LANE_BUDGETS if warm_app.lane else BUDGETS)[kind]
    heaviest = ", ".join(f"{name} {count}" for name, count in calls.names.most_common(8))
    assert calls.total <= budget, f"{kind}: {calls.total} calls; most: {heaviest}"


def test_the_guard_sees_a_cold_request() -> None:
    """A first request compiles validators and decorators: what the guard would catch."""
    app = create_app(Settings(fast_lane=False))
    _, calls = request(app, "POST", "/api/v1/sessions", {**CREATE, "externalId": "cold"})
    assert calls.names["SchemaValidators._compile"] >= 1
    assert calls.names["BaseDecorator.decorate"] == 1
    assert calls.total > max(BUDGETS.values())


_FAILURE_CALLS = ("Failures.", "FaultBook.", "RateLimiter.", "RequestFacts.", "OperationRoutes.")


def test_idle_failures_cost_no_call(warm_app: MockApp) -> None:
    """No fault rule and the limiter off: the failures layer costs no call (the edge reads
    two attributes, then takes its direct route), whatever the operation (the issue's
    bound is five)."""
    for kind, (_, calls) in each_kind(warm_app, 50).items():
        spent = {n: c for n, c in calls.names.items() if n.startswith(_FAILURE_CALLS)}
        assert spent == {}, f"{kind}: {spent}"


def test_the_limiter_costs_only_its_own_check() -> None:
    """The limiter on (a budget nothing reaches) and no rule: requests still take the
    edge's direct route, and cost the limiter's check and its headers, 20 calls at most
    (the layered route cost 26)."""
    counts = {}
    for rate_limit in ("off", "1000000000/60"):
        app = create_app(Settings(rate_limit=rate_limit))
        for n in range(3):
            each_kind(app, n)
        counts[rate_limit] = each_kind(app, 70)
    for kind, (status, calls) in counts["1000000000/60"].items():
        assert status in (200, 201)
        assert calls.names["Failures.spend"] == 1 and calls.names["Failures.__call__"] == 0
        extra = calls.total - counts["off"][kind][1].total
        assert 0 < extra <= 20, f"{kind}: the limiter cost {extra} calls"


def test_an_armed_rule_is_seen_by_the_guard(warm_app: MockApp) -> None:
    """The guard above can fail: once a rule (for another environment) is armed, every
    request is matched against it."""
    schema = load_spec(ADMIN_SPEC_PATH)["components"]["schemas"]["FaultRule"]
    body = {"match": {"environment": "tr_dev_someoneelse0000"}, "action": {"status": 500}}
    warm_app.state.faults.add(RuleReader(schema, frozenset()).read(body))
    status, calls = each_kind(warm_app, 60)["retrieve"]
    assert status == 200
    assert calls.names["Failures.__call__"] == 1  # the layered route
    assert calls.names["FaultBook.pick"] == 1 and calls.names["Match.holds"] == 1


def test_the_journal_is_one_record_per_request_and_its_readers_cost_nothing(
    warm_app: MockApp,
) -> None:
    """The dashboard's live tail and the journal's readers poll: a request does no work
    for them when nobody watches (and none when somebody does), only the record."""
    journal_calls: Counter[str] = Counter()
    watched = ("http/journal.py", "http/exchanges.py", "control/tail.py", "handlers/journal.py")

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_filename.endswith(watched):
            name = frame.f_code.co_filename.rsplit("mock_server/", 1)[-1]
            journal_calls[f"{name}:{frame.f_code.co_qualname}"] += 1

    for kind, (method, path, body) in {
        "create": ("POST", "/api/v1/sessions", {**CREATE, "externalId": "watch"}),
        "list": ("GET", "/api/v1/sessions", None),
    }.items():
        journal_calls.clear()
        raw = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
        asyncio.run(asgi_exchange(warm_app, method, path, raw, headers, profile=profile))
        assert journal_calls == Counter(
            {"http/journal.py:RequestJournal.record": 1, "http/journal.py:_body_bytes": 1}
        ), kind
