"""The proxy's checker on exchanges built by hand: the spec checks of each side, who is at
fault for a request that breaks the contract, the answers it leaves alone, and the fidelity
rows that explain an answer (or, in a proxy expecting the other reading, are the
violation)."""

from __future__ import annotations

from typing import Any

import pytest

from mock_server.proxy.checker import ExchangeChecker
from mock_server.proxy.exchange import Exchange

from .proxy_exchanges import (
    AUTH,
    CREATE,
    JSON,
    ORIGIN,
    SESSION_ID,
    SSE,
    V2,
    Header,
    checker,
    created,
    exchange,
    rules_of,
    session,
)

SESSIONS = "/api/v1/sessions"
TEXT = ("content-type", "text/plain")


@pytest.fixture(scope="module")
def either() -> ExchangeChecker:
    return checker("either")


@pytest.fixture(scope="module")
def documented() -> ExchangeChecker:
    return checker("documented")


@pytest.fixture(scope="module")
def deployed() -> ExchangeChecker:
    return checker("deployed")


# --- the answer ---------------------------------------------------------------------------


def test_a_create_answer_is_checked_against_its_schema(either: ExchangeChecker) -> None:
    good = exchange("POST", SESSIONS, 201, request=(AUTH, JSON), sent=CREATE, body=created())
    assert either.check(good).violations == []
    body = created()
    del body["isCached"]
    missing = exchange("POST", SESSIONS, 201, request=(AUTH, JSON), sent=CREATE, body=body)
    assert rules_of(either.check(missing).violations) == ["response.schema"]


@pytest.mark.parametrize(
    ("status", "answer", "body", "rule"),
    [
        (418, (JSON,), {"error": "teapot"}, "response.status"),
        (200, (TEXT,), session(), "response.content-type"),
        (200, (JSON,), b'{"id":', "response.json"),
        (200, (JSON,), {"data": "no"}, "response.schema"),
    ],
)
def test_each_way_an_answer_leaves_the_spec(
    either: ExchangeChecker, status: int, answer: tuple[Header, ...], body: Any, rule: str
) -> None:
    made = exchange("GET", f"{SESSIONS}/{SESSION_ID}", status, answer=answer, body=body)
    assert rules_of(either.check(made).violations) == [rule]
    fine = exchange("GET", f"{SESSIONS}/{SESSION_ID}", 200, body=session())
    assert either.check(fine).violations == []


@pytest.mark.parametrize(
    ("headers", "wrong"),
    [((SSE,), True), ((SSE, ("x-stream-version", "v1")), True),
     ((SSE, ("x-stream-version", "v2")), False)],
)  # fmt: skip
def test_required_headers_are_there_and_as_documented(
    either: ExchangeChecker, headers: tuple[Header, ...], wrong: bool
) -> None:
    made = exchange("GET", "/realtime/v1/sessions/s/out", 200, answer=headers, body=V2)
    assert rules_of(either.check(made).violations) == ["response.headers"] * wrong


def test_an_answer_on_no_operation_is_a_violation_only_when_it_succeeds(
    either: ExchangeChecker,
) -> None:
    made = exchange("GET", "/api/v1/teapots", 200, body={})
    assert rules_of(either.check(made).violations) == ["response.operation"]
    not_found = exchange("GET", "/api/v1/teapots", 404, body={"error": "Not found"})
    assert either.check(not_found).violations == []


# --- the request: refused is the contract working, accepted is a violation ----------------


@pytest.mark.parametrize(
    ("method", "path", "headers", "sent", "refusal", "rule"),
    [
        ("GET", SESSIONS, (), b"", 401, "request.credentials"),
        ("POST", "/realtime/v1/sessions/s/sideways/append", (AUTH,), b"{}", 400,
         "request.parameters"),
        ("POST", SESSIONS, (AUTH,), b"", 400, "request.body"),
        ("POST", SESSIONS, (AUTH, JSON), b"{nope", 400, "request.body"),
        ("POST", SESSIONS, (AUTH, JSON), b'{"type":"x"}', 422, "request.schema"),
    ],
)  # fmt: skip
def test_a_request_breaking_the_contract_is_counted_if_refused_and_a_violation_if_accepted(
    either: ExchangeChecker,
    method: str,
    path: str,
    headers: tuple[Header, ...],
    sent: bytes,
    refusal: int,
    rule: str,
) -> None:
    error = {"error": "refused"}
    refused = either.check(exchange(method, path, refusal, request=headers, sent=sent, body=error))
    assert refused.refused_request and refused.violations == []
    answer = created() if path == SESSIONS and method == "POST" else {"ok": True}
    accepted = either.check(exchange(method, path, 200, request=headers, sent=sent, body=answer))
    assert not accepted.refused_request
    request_side = [f for f in accepted.violations if f.direction == "request"]
    assert rules_of(request_side) == [rule]
    assert request_side[0].message.endswith("; the upstream accepted it (200)")


def test_a_request_is_checked_alone_for_strict(either: ExchangeChecker) -> None:
    bad = exchange("POST", SESSIONS, 0, request=(AUTH, JSON), sent=b'{"type":"x"}')
    assert rules_of(either.request_findings(bad)) == ["request.schema"]
    assert either.request_findings(exchange("POST", "/_mock/reset", 0, request=())) == []


def test_a_record_needs_no_content_type(either: ExchangeChecker) -> None:
    path = "/realtime/v1/sessions/s/out/append"
    made = exchange("POST", path, 200, sent=b"anything", body={"ok": True, "seq": 0})
    assert either.check(made).violations == []


# --- answers left alone -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("made", "why"),
    [
        (exchange("GET", "/_mock/sessions", 500, body=b"x"), "control-plane"),
        (exchange("GET", "/s2/v1/streams", 500, body=b"x"), "control-plane"),
        (exchange("GET", SESSIONS, 0), "upstream-error"),
        (exchange("GET", SESSIONS, 503, answer=(("x-trigger-mock-fault", "r1"),)), "fault"),
        (
            exchange("POST", SESSIONS, 507, answer=(("x-trigger-mock-limit", "sessions"),)),
            "fake-bound",
        ),
        (exchange("GET", SESSIONS, 429, answer=(("x-ratelimit-limit", "60"),)), "rate-limited"),
    ],
)
def test_answers_that_are_not_the_apis_are_left_alone(
    either: ExchangeChecker, made: Exchange, why: str
) -> None:
    verdict = either.check(made)
    assert verdict.left_alone == why and verdict.violations == []


# --- fidelity -----------------------------------------------------------------------------

CLOSE = f"{SESSIONS}/s/close"


def bare_405() -> Exchange:
    """The deployed server's GET on close: no body, no ``Allow``, no CORS headers."""
    return exchange("GET", CLOSE, 405, request=(AUTH, ORIGIN), answer=())


def documented_405() -> Exchange:
    allowed = (JSON, ("allow", "POST"), ("access-control-allow-origin", ORIGIN[1]))
    body = {"error": "Method not allowed"}
    return exchange("GET", CLOSE, 405, request=(AUTH, ORIGIN), answer=allowed, body=body)


def test_a_bare_405_is_explained_by_its_row_unless_the_docs_are_expected(
    either: ExchangeChecker, deployed: ExchangeChecker, documented: ExchangeChecker
) -> None:
    for accepting in (either, deployed):
        verdict = accepting.check(bare_405())
        assert verdict.violations == []  # the missing CORS header is the row's, not a rule's
        assert verdict.readings == [("action_only_loader_405", "deployed")]
    verdict = documented.check(bare_405())
    assert rules_of(verdict.violations) == ["cors", "fidelity"]
    assert verdict.violations[1].message.startswith(
        "action_only_loader_405: answered as deployed, where this proxy expects documented"
    )
    assert verdict.readings == [("action_only_loader_405", "deployed")]


def test_the_documented_405_is_a_fidelity_violation_only_where_deployed_is_expected(
    either: ExchangeChecker, deployed: ExchangeChecker, documented: ExchangeChecker
) -> None:
    for accepting in (either, documented):
        assert accepting.check(documented_405()).violations == []
    verdict = deployed.check(documented_405())
    assert rules_of(verdict.violations) == ["fidelity"]


def test_a_request_content_type_is_a_fidelity_question(
    either: ExchangeChecker, documented: ExchangeChecker
) -> None:
    taken = exchange("POST", SESSIONS, 201, request=(AUTH, TEXT), sent=CREATE, body=created())
    assert either.check(taken).violations == []  # the deployed server reads any body as JSON
    assert rules_of(documented.check(taken).violations) == ["request.content-type", "fidelity"]
