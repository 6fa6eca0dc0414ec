"""The proxy's rules beyond the schemas (:mod:`mock_server.proxy.rules`), each on exchanges
built by hand: what it finds, and what it leaves alone."""

from __future__ import annotations

from typing import Any

import pytest

from mock_server.proxy import rules
from mock_server.proxy.exchange import Body, Exchange

from .proxy_exchanges import AUTH, JSON, ORIGIN, SSE, V2, created, exchange, session


def found(rule: rules.Rule, made: Exchange) -> list[str]:
    return [finding.message for finding in rule(made)]


def test_an_error_without_the_envelope_is_found() -> None:
    shaped = exchange("GET", "/api/v1/sessions/x", 404, body={"message": "Session not found"})
    assert found(rules.error_envelope, shaped) == [
        'a 404 without {"error": text}: {"message":"Session not found"}'
    ]
    text = exchange("GET", "/api/v1/sessions/x", 500, answer=(), body=b"oops")
    assert found(rules.error_envelope, text) == ["a 500 whose body (no Content-Type) is not JSON"]


def test_an_error_with_the_envelope_or_without_a_body_is_not() -> None:
    path = "/api/v1/sessions/x"
    assert not found(rules.error_envelope, exchange("GET", path, 404, body={"error": "gone"}))
    assert not found(rules.error_envelope, exchange("GET", path, 405))
    assert not found(rules.error_envelope, exchange("HEAD", path, 404, body=b"x"))
    assert not found(rules.error_envelope, exchange("GET", path, 200, body={"message": "ok"}))
    cut = exchange("GET", path, 404)
    cut.response_body = Body(chunks=[b"{"], kept=1, size=10)  # not kept whole: cannot look
    assert not found(rules.error_envelope, cut)


def test_cors_wants_the_origin_allowed_and_the_preflight_method_offered() -> None:
    bare = exchange("GET", "/api/v1/sessions", 200, request=(AUTH, ORIGIN))
    assert found(rules.cors, bare) == ["no Access-Control-Allow-Origin for an Origin"]
    other = (JSON, ("access-control-allow-origin", "https://else.example"))
    assert len(found(rules.cors, exchange("GET", "/x", 200, request=(ORIGIN,), answer=other))) == 1
    asked = (ORIGIN, ("access-control-request-method", "POST"))
    narrow = (("access-control-allow-origin", "*"), ("access-control-allow-methods", "GET,HEAD"))
    assert found(rules.cors, exchange("OPTIONS", "/x", 204, request=asked, answer=narrow)) == [
        "the preflight does not allow POST (allows 'GET,HEAD')"
    ]


def test_cors_is_content_with_an_echo_a_star_or_no_browser() -> None:
    echoed = (("access-control-allow-origin", ORIGIN[1]), ("access-control-allow-methods", "*"))
    asked = (ORIGIN, ("access-control-request-method", "DELETE"))
    assert not found(rules.cors, exchange("OPTIONS", "/x", 204, request=asked, answer=echoed))
    star = (("access-control-allow-origin", "*"),)
    assert not found(rules.cors, exchange("GET", "/x", 200, request=(ORIGIN,), answer=star))
    assert not found(rules.cors, exchange("GET", "/x", 200))


def test_dates_need_milliseconds_and_z_wherever_they_are() -> None:
    listed = {"data": [session(createdAt="2026-12-02T08:16:28Z", closedAt=None)]}
    assert found(rules.date_format, exchange("GET", "/api/v1/sessions", 200, body=listed)) == [
        "data[0].createdAt: '2026-12-02T08:16:28Z' is not YYYY-MM-DDTHH:MM:SS.sssZ"
    ]
    assert not found(rules.date_format, exchange("GET", "/api/v1/sessions", 200, body=session()))
    text = exchange("GET", "/x", 200, answer=(("content-type", "text/plain"),), body=listed)
    assert not found(rules.date_format, text)


def test_session_and_run_ids_keep_their_prefixes_in_session_rows() -> None:
    def shaped(body: Any, status: int = 200, op: str = "retrieve_session_v1") -> list[str]:
        return found(rules.id_shape, exchange("GET", "/s", status, body=body, operation=op))

    assert shaped(session(id="sess_1", currentRunId="r_1")) == [
        "id: 'sess_1' is not a session_… id",
        "currentRunId: 'r_1' is not a run_… id",
    ]
    assert not shaped(session())
    assert not shaped(session(id="sess_1"), op="generate_jwt_claims_v1")
    assert not shaped({"id": "anything"})  # not a session row: no taskIdentifier beside it
    assert not shaped(session(id="sess_1"), status=404)


@pytest.mark.parametrize(
    ("status", "cached", "wrong"), [(201, False, False), (200, True, False), (201, True, True),
                                    (200, False, True)]
)  # fmt: skip
def test_is_cached_goes_with_the_status(status: int, cached: bool, wrong: bool) -> None:
    made = exchange(
        "POST",
        "/api/v1/sessions",
        status,
        body=created(isCached=cached),
        operation="create_session_v1",
    )
    assert bool(found(rules.is_cached, made)) is wrong


def test_is_cached_leaves_a_missing_field_to_the_schema() -> None:
    body = created()
    del body["isCached"]
    made = exchange("POST", "/api/v1/sessions", 201, body=body, operation="create_session_v1")
    assert not found(rules.is_cached, made)


@pytest.mark.parametrize(
    ("stream", "problem"),
    [
        (V2, None),
        (V2.replace(b"\n", b"\r\n"), None),
        (b"id: 0\ndata: hi\n\nid: 1\ndata: ho\n\n", "event 0: no event type"),
        (b'event: batch\nid: 7\ndata: {"records":[]}\n\n', "event 0: batch id '7' is not"),
        (b"event: batch\nid: 1,1,1\ndata: {}\n\n", "event 0: batch data without a records"),
        (b'event: batch\nid: 1,1,1\ndata: {"records":[{"body":"x"}]}\n\n', "event 0: a record"),
        (b"event: chunk\ndata: {}\n\n", "event 0: unknown event type 'chunk'"),
        (b"event: ping\ndata: nope\n\n", "event 0: ping data that is not JSON"),
    ],
)
def test_event_streams_are_framed_as_v2(stream: bytes, problem: str | None) -> None:
    made = exchange("GET", "/realtime/v1/sessions/s/out", 200, answer=(SSE,), body=stream)
    messages = found(rules.sse_framing, made)
    if problem is None:
        assert messages == []
    else:
        assert len(messages) == 1 and messages[0].startswith(problem)  # one per stream
