"""Fault rules as data: reading a rule (shape and combinations), matching, counting, the
seeded draws, and which operation a raw path is for."""

from __future__ import annotations

from typing import Any

import pytest

from mock_server.core.errors import ValidationFailed
from mock_server.core.specs import ADMIN_SPEC_PATH, S2_SPEC_PATH, api_spec_path, load_spec
from mock_server.http.failures.reader import RuleReader
from mock_server.http.failures.rules import FaultBook, FaultNotFound, RequestFacts
from mock_server.http.routes import OperationRoutes
from mock_server.s2.names import S2_BASE_PATH

ROUTES = OperationRoutes(
    [("", load_spec(api_spec_path())), (S2_BASE_PATH, load_spec(S2_SPEC_PATH))]
)
READER = RuleReader(load_spec(ADMIN_SPEC_PATH)["components"]["schemas"]["FaultRule"], ROUTES.ids)


def facts(method: str, path: str, key: str | None = None) -> RequestFacts:
    auth = None if key is None else f"Bearer {key}"
    return RequestFacts(method, path, auth, ROUTES.operation_of)


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    [
        ("POST", "/api/v1/sessions", "create_session_v1"),
        ("GET", "/api/v1/sessions", "list_sessions_v1"),
        ("GET", "/api/v1/sessions/chat%2F1", "retrieve_session_v1"),
        ("POST", "/api/v1/sessions/s/close", "close_session_v1"),
        ("GET", "/realtime/v1/sessions/s/out", "subscribe_to_session_channel_v1"),
        ("POST", "/realtime/v1/sessions/s/in/append", "append_to_session_channel_v1"),
        ("GET", "/realtime/v1/sessions/s/channels/c/out", "subscribe_to_session_side_channel_v1"),
        ("GET", "/realtime/v1/sessions/s/in/records", "read_session_channel_records_v1"),
        ("POST", "/s2/v1/streams/x/records", "s2_append"),
        ("DELETE", "/api/v1/sessions", None),
        ("GET", "/api/v2/sessions", None),
    ],
)
def test_the_operation_of_a_raw_path(method: str, path: str, operation: str | None) -> None:
    assert ROUTES.operation_of(method, path) == operation


def rule(**body: Any) -> Any:
    return READER.read(body)


def test_a_rule_matches_only_when_every_field_holds() -> None:
    book = FaultBook()
    book.add(rule(match={"operation": "retrieve_session_v1", "environment": "tr_dev_one1"},
                  action={"status": 500}, times=None))  # fmt: skip
    assert book.pick(facts("GET", "/api/v1/sessions/s", "tr_dev_two2")) is None
    assert book.pick(facts("GET", "/api/v1/sessions", "tr_dev_one1")) is None
    assert book.pick(facts("GET", "/api/v1/sessions/s", "tr_dev_one1")) is not None


def test_times_counts_fired_requests_and_disarms_the_book() -> None:
    book = FaultBook()
    added = book.add(rule(action={"status": 500}, times=2))
    assert book.armed
    picked = [book.pick(facts("GET", "/api/v1/sessions/s")) for _ in range(3)]
    assert [p is added for p in picked] == [True, True, False]
    assert (added.fired, added.remaining, book.armed) == (2, 0, False)


def test_rules_are_tried_in_order_and_a_failed_draw_passes_to_the_next() -> None:
    book = FaultBook()
    flaky = book.add(rule(action={"status": 500}, times=None, probability=0.5, seed=1))
    steady = book.add(rule(action={"status": 503}, times=None))
    picked = [book.pick(facts("GET", "/x")) for _ in range(40)]
    assert {p.id for p in picked if p is not None} == {flaky.id, steady.id}
    assert flaky.fired + steady.fired == 40


def test_the_same_seed_draws_the_same_sequence() -> None:
    def sequence() -> list[bool]:
        book = FaultBook()
        book.add(rule(action={"status": 500}, times=None, probability=0.3, seed=99))
        return [book.pick(facts("GET", "/x")) is not None for _ in range(50)]

    assert sequence() == sequence()
    unseeded = [sequence() for _ in range(2)]
    assert all(0 < s.count(True) < 50 for s in unseeded)


def test_delays_follow_their_distribution() -> None:
    lognormal = rule(action={"delay": {"type": "lognormal", "medianMs": 100, "sigma": 0.5,
                                       "maxMs": 400}}, seed=5)  # fmt: skip
    samples = sorted(lognormal.action.delay.sample(lognormal.rng) for _ in range(2001))
    assert 85 < samples[1000] < 115 and samples[-1] <= 400 and samples[0] > 0
    uniform = rule(action={"delay": {"type": "uniform", "lowerMs": 10, "upperMs": 20}})
    drawn = [uniform.action.delay.sample(uniform.rng) for _ in range(200)]
    assert min(drawn) >= 10 and max(drawn) <= 20 and max(drawn) - min(drawn) > 5


def test_unknown_ids_are_not_found() -> None:
    book = FaultBook()
    with pytest.raises(FaultNotFound):
        book.get("fault_9")
    with pytest.raises(FaultNotFound):
        book.remove("fault_9")


def test_every_problem_of_a_rule_is_named() -> None:
    with pytest.raises(ValidationFailed) as refused:
        rule(action={"status": 503, "drop": "reset", "body": {}, "delayMs": 1,
                     "delay": {"type": "fixed", "ms": 1}})  # fmt: skip
    messages = [issue.message for issue in refused.value.issues]
    assert any("at most one of" in m for m in messages)
    assert any("delayMs or delay" in m for m in messages)
