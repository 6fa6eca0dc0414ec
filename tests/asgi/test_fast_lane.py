"""The fast lane answers exactly as Connexion does.

Two apps with the same seed and the same frozen clock, one with the lane and one without,
get the same requests in the same order; every answer (status, headers, body bytes) must
be the same. The lane must also have answered the plain requests itself, or this would
only compare Connexion with Connexion.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server.app import create_app
from mock_server.core.clock import ControllableClock
from mock_server.core.fidelity import Fidelity
from mock_server.core.settings import Settings
from mock_server.http.fastlane import _plain_path
from tests.support import Answer, asgi_exchange

KEY = "tr_dev_lane0000000000"


class Pair:
    """The same app twice: with the lane, and with Connexion alone."""

    def __init__(self, fidelity: Fidelity = Fidelity.DOCUMENTED) -> None:
        self.apps = [
            create_app(
                Settings(seed=11, fidelity=fidelity, fast_lane=lane),
                clock=_frozen_clock(),
            )
            for lane in (True, False)
        ]

    def send(
        self,
        method: str,
        target: str,
        body: Any = None,
        *,
        raw: bytes | list[bytes] | None = None,
        headers: dict[str, str] | list[tuple[str, str]] | None = None,
        key: str | None = KEY,
    ) -> Answer:
        """The same request to both apps; their answers must be identical. ``headers`` as a
        list of pairs replaces the default ones (to repeat or re-case them)."""
        sent = raw if raw is not None else None if body is None else json.dumps(body).encode()
        pairs: list[tuple[str, str]]
        if isinstance(headers, list):
            pairs = headers
        else:
            defaults = {"Content-Type": "application/json"} if sent is not None else {}
            if key is not None:
                defaults["Authorization"] = f"Bearer {key}"
            pairs = list({**defaults, **(headers or {})}.items())
        lane, connexion = (
            asyncio.run(asgi_exchange(app, method, target, sent, pairs)) for app in self.apps
        )
        assert lane == connexion, f"{method} {target} {pairs} {sent!r}"
        return lane

    @property
    def answered(self) -> int:
        lane = self.apps[0].lane
        assert lane is not None and self.apps[1].lane is None
        return lane.answered


def _frozen_clock() -> ControllableClock:
    clock = ControllableClock()
    clock.set(1_767_225_600_000, frozen=True)  # 2026-01-01
    return clock


def session(external_id: str, **extra: Any) -> dict[str, Any]:
    body = {"type": "chat.agent", "externalId": external_id, "taskIdentifier": "my-chat"}
    return {**body, "triggerConfig": {"basePayload": {"chatId": external_id}}, **extra}


@pytest.mark.parametrize("fidelity", list(Fidelity))
def test_the_lane_answers_like_connexion(fidelity: Fidelity) -> None:
    pair = Pair(fidelity)
    status, _, created = pair.send("POST", "/api/v1/sessions", session("a/b", tags=["t1"]))
    assert status == 201
    assert pair.answered == 1
    token = json.loads(created)["publicAccessToken"]
    session_id = json.loads(created)["id"]
    plain = [
        ("POST", "/api/v1/sessions", session("a/b", junk=1)),  # cached, junk stripped
        ("POST", "/api/v1/sessions", session("two", metadata={"n": 2**70, "s": "é"})),
        ("GET", "/api/v1/sessions/a%2Fb", None),
        ("GET", f"/api/v1/sessions/{session_id}", None),
        ("GET", "/api/v1/sessions", None),
        ("GET", "/api/v1/sessions?page[size]=1&filter[tags]=t1,t2&filter[status]=ACTIVE", None),
        ("GET", "/api/v1/sessions?filter[createdAt][period]=7d&unknown=1", None),
        ("PATCH", "/api/v1/sessions/two", {"tags": ["x"], "metadata": None}),
        ("POST", "/api/v1/sessions/two/close", {"reason": "done"}),
        ("POST", "/api/v1/sessions/two/close", {"reason": "again"}),
        ("POST", "/api/v1/sessions", session("two")),  # closed: 409 from the handler
        ("GET", "/api/v1/sessions/nope", None),  # 404 from the handler
        ("PATCH", "/api/v1/sessions/a%2Fb", {"externalId": "other"}),  # 422 from the handler
    ]
    for method, target, body in plain:
        pair.send(method, target, body)
    assert pair.answered == 1 + len(plain)
    passed_on: list[Callable[[], Answer]] = [
        lambda: pair.send("POST", "/api/v1/sessions", session("x", type=3)),  # invalid body
        lambda: pair.send("POST", "/api/v1/sessions", raw=b'{"type":'),  # not JSON
        lambda: pair.send("POST", "/api/v1/sessions/a%2Fb/close", raw=b""),  # empty body
        lambda: pair.send("GET", "/api/v1/sessions?page[size]=0"),  # bad query
        lambda: pair.send("GET", "/api/v1/sessions?page[after]=a&page[before]=b"),
        lambda: pair.send("GET", "/api/v1/sessions/a%2Fb", key=None),  # no key
        lambda: pair.send("GET", "/api/v1/sessions/a%2Fb", key="sk_not_a_key"),
        lambda: pair.send("GET", "/api/v1/sessions/a%2Fb", key=token),  # a public token
        lambda: pair.send("POST", "/api/v1/sessions/a%2Fb/close", {}, key=token),
    ]  # fmt: skip
    before = pair.answered
    for send in passed_on:
        send()
    assert pair.answered == before
    # Another content type: refused by Connexion, or read as JSON as the deployed server does.
    pair.send("POST", "/api/v1/sessions", session("y"), headers={"Content-Type": "text/plain"})
    assert pair.answered == before + (fidelity is Fidelity.DEPLOYED)


JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.text(max_size=6)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["chat.agent", ""]) | JSON_VALUES,
        "externalId": st.sampled_from(["e1", "e2", " e1 ", "session_x"]) | JSON_VALUES,
        "taskIdentifier": st.sampled_from(["my-chat"]) | JSON_VALUES,
        "triggerConfig": st.fixed_dictionaries({"basePayload": JSON_VALUES}) | JSON_VALUES,
        "tags": st.lists(st.text(max_size=5), max_size=3) | JSON_VALUES,
        "metadata": JSON_VALUES,
        "reason": JSON_VALUES,
    },
)
ROUTES = [
    ("POST", "/api/v1/sessions"),
    ("PATCH", "/api/v1/sessions/e1"),
    ("POST", "/api/v1/sessions/e1/close"),
    ("POST", "/api/v1/sessions/e2/close"),
    ("GET", "/api/v1/sessions/e2"),
    ("GET", "/api/v1/sessions?page[size]=2&filter[tags]=a"),
]
REQUESTS = st.lists(st.tuples(st.sampled_from(ROUTES), FIELDS), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(REQUESTS)
def test_random_requests_get_the_same_answers(requests: list[Any]) -> None:
    pair = Pair()
    for (method, target), body in requests:
        pair.send(method, target, None if method == "GET" else body)


def _chunks(raw: bytes, pieces: int) -> list[bytes]:
    """``raw`` cut into ``pieces`` messages (the last ones may be empty)."""
    step = max(1, -(-len(raw) // pieces))
    return [raw[n * step : (n + 1) * step] for n in range(pieces)]


def _auth(value: str) -> tuple[str, str]:
    return ("authorization", value)


def _type(value: str = "application/json") -> tuple[str, str]:
    return ("content-type", value)


def _length(value: int | str) -> tuple[str, str]:
    return ("content-length", str(value))


CHUNKED = ("transfer-encoding", "chunked")


@pytest.mark.parametrize("fidelity", list(Fidelity))
def test_repeated_headers_odd_values_and_chunked_bodies(fidelity: Fidelity) -> None:
    """What a server may pass on as it came: a header twice (the first counts, as in
    Starlette's ``Headers`` and Node's parser), values in odd case or spacing, bodies in
    several messages or without a length. The lane answers only where it is sure, and
    either way as Connexion does."""
    pair = Pair(fidelity)
    _, _, created = pair.send("POST", "/api/v1/sessions", session("dup"))
    key, token = _auth(f"Bearer {KEY}"), _auth(f"Bearer {json.loads(created)['publicAccessToken']}")
    other = _auth("Bearer tr_dev_otherenvironment0")
    body = json.dumps(session("dup2")).encode()
    close, patch = json.dumps({"reason": "r"}).encode(), b'{"tags":["a"]}'
    close_length, patch_length = _length(len(close)), _length(len(patch))
    cases: list[tuple[str, str, bytes | list[bytes] | None, list[tuple[str, str]]]] = [
        ("GET", "/api/v1/sessions", None, [token, key]),
        ("GET", "/api/v1/sessions", None, [key, token]),
        ("GET", "/api/v1/sessions/dup", None, [token, key]),
        ("GET", "/api/v1/sessions/dup", None, [other, key]),
        ("GET", "/api/v1/sessions/dup", None, [key, other]),
        ("GET", "/api/v1/sessions/dup", None, [_auth(f"bearer {KEY}")]),
        ("GET", "/api/v1/sessions/dup", None, [_auth(f"Bearer  {KEY} ")]),
        ("POST", "/api/v1/sessions", body, [token, key, _type()]),
        ("POST", "/api/v1/sessions", body, [key, _type("text/plain"), _type()]),
        ("POST", "/api/v1/sessions", body, [key, _type(), _type("text/plain")]),
        ("POST", "/api/v1/sessions", body, [key, _type("Application/JSON; charset=UTF-8")]),
        ("POST", "/api/v1/sessions", body, [key, _type("application/vnd.api+json")]),
        ("POST", "/api/v1/sessions", body, [key, _type(), _length(len(body)), _length(3)]),
        ("POST", "/api/v1/sessions", _chunks(body, 3), [key, _type(), _length(len(body))]),
        ("POST", "/api/v1/sessions", _chunks(body, 4), [key, _type(), CHUNKED]),
        ("POST", "/api/v1/sessions/dup/close", _chunks(close, 2), [key, _type(), close_length]),
        ("POST", "/api/v1/sessions/dup2/close", [b"", b""], [key, _type(), CHUNKED]),
        ("PATCH", "/api/v1/sessions/dup", _chunks(patch, 5), [token, key, _type(), patch_length]),
    ]  # fmt: skip
    for method, target, raw, headers in cases:
        pair.send(method, target, raw=raw, headers=headers)
    assert pair.answered > 1  # the lane took the unambiguous ones


AUTH_VARIANTS = st.sampled_from(["key", "token,key", "key,token", "bearer-lower", "none"])
BODY_VARIANTS = st.sampled_from(["one", "split", "chunked"])


@pytest.mark.parametrize("fidelity", list(Fidelity))
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(st.tuples(st.sampled_from(ROUTES), FIELDS, AUTH_VARIANTS, BODY_VARIANTS), max_size=5)
)
def test_random_requests_with_header_and_body_variants(
    fidelity: Fidelity, requests: list[Any]
) -> None:
    pair = Pair(fidelity)
    _, _, created = pair.send("POST", "/api/v1/sessions", session("e1"))
    token = json.loads(created)["publicAccessToken"]
    for (method, target), fields, auth, shape in requests:
        headers = {
            "key": [_auth(f"Bearer {KEY}")],
            "token,key": [_auth(f"Bearer {token}"), _auth(f"Bearer {KEY}")],
            "key,token": [_auth(f"Bearer {KEY}"), _auth(f"Bearer {token}")],
            "bearer-lower": [_auth(f"bearer {KEY}")],
            "none": [],
        }[auth]
        raw: bytes | list[bytes] | None = None
        if method != "GET":
            encoded = json.dumps(fields).encode()
            headers.append(_type())
            if shape == "one":
                raw = encoded
            else:
                raw = _chunks(encoded, 3)
                if shape == "split":
                    headers.append(_length(len(encoded)))
        pair.send(method, target, raw=raw, headers=headers)


PATH_STRING = {"in": "path", "name": "session", "required": True, "schema": {"type": "string"}}


@pytest.mark.parametrize(
    ("parameters", "plain"),
    [
        ([], True),  # create: nothing to resolve
        ([PATH_STRING], True),
        ([{**PATH_STRING, "schema": {"type": "string", "minLength": 1}}], True),
        ([{**PATH_STRING, "schema": {"type": "string", "minLength": 2}}], False),
        ([{**PATH_STRING, "schema": {"type": "string", "pattern": "^a"}}], False),
        ([{**PATH_STRING, "schema": {"type": "string", "enum": ["in", "out"]}}], False),
        ([{**PATH_STRING, "schema": {"type": "string", "nullable": True}}], False),
        ([{**PATH_STRING, "schema": {"type": "integer"}}], False),
        ([{**PATH_STRING, "style": "label"}], False),
        ([{**PATH_STRING, "in": "query"}], False),
    ],
)
def test_only_plain_path_strings_skip_connexions_resolving(
    parameters: list[dict[str, Any]], plain: bool
) -> None:
    """The lane hands a path value to the handler as matched only where Connexion's
    resolving, coercing and checking could not change or refuse it."""
    found = _plain_path(parameters)
    assert (found is not None) == plain
    if plain:
        assert found == tuple((p["name"], p["name"]) for p in parameters)


def test_the_session_operations_with_a_path_take_the_plain_route() -> None:
    lane = create_app().lane
    assert lane is not None
    plain = {op.operation.operation_id: op.plain_path for ops in lane.lane.values() for op in ops}
    assert plain["retrieve_session_v1"] == plain["close_session_v1"] == (("session", "session"),)
    assert plain["create_session_v1"] == () and plain["list_sessions_v1"] is None
