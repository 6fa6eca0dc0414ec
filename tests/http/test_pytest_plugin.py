"""The fixtures installing trigger-mock gives any project (``mock_server.testing.pytest_plugin``),
tried the way a user would: a small test suite in a fresh directory, run by pytest."""

from __future__ import annotations

import pytest

USER_TESTS = """
import os

import httpx

SEEN = []


def session_body(external_id):
    return {"type": "chat.agent", "externalId": external_id, "taskIdentifier": "t",
            "triggerConfig": {"basePayload": {}}}


def test_code_under_test_finds_the_fake_in_the_environment(trigger_mock):
    assert os.environ["TRIGGER_API_URL"] == trigger_mock.base_url
    assert os.environ["TRIGGER_SECRET_KEY"] == trigger_mock.secret_key
    auth = {"Authorization": "Bearer " + os.environ["TRIGGER_SECRET_KEY"]}
    with httpx.Client(base_url=os.environ["TRIGGER_API_URL"], headers=auth) as client:
        created = client.post("/api/v1/sessions", json=session_body("chat-1"))
    assert created.status_code == 201
    assert [s["externalId"] for s in trigger_mock.sessions()] == ["chat-1"]
    assert trigger_mock.requests(method="POST")[0]["status"] == 201
    SEEN.append(trigger_mock.base_url)


def test_each_test_starts_from_a_reset_fake(trigger_mock):
    status, body = trigger_mock.api("POST", "/api/v1/sessions", session_body("chat-1"))
    assert status == 201 and body["isCached"] is False
    # Nothing of the previous test is left on the server, in any environment.
    assert trigger_mock.server.call("GET", "/_mock/health")[1]["sessions"] == 1
    assert len(trigger_mock.requests()) == 1
    SEEN.append(trigger_mock.base_url)


def test_clock_and_scripted_out(trigger_mock):
    trigger_mock.set_clock("2030-01-01T00:00:00.000Z", frozen=True)
    status, body = trigger_mock.api("POST", "/api/v1/sessions", session_body("chat-2"))
    assert body["createdAt"] == "2030-01-01T00:00:00.000Z"
    trigger_mock.advance_clock(60)
    seq = trigger_mock.write_out("chat-2", text="hi there")
    assert seq == list(range(len(seq)))
    with trigger_mock.client() as client:
        records = client.get("/realtime/v1/sessions/chat-2/out/records").json()["records"]
    assert records[-1]["headers"][0] == ["trigger-control", "turn-complete"]
    assert trigger_mock.end_run("chat-2") == body["runId"]
    _, again = trigger_mock.api("POST", "/api/v1/sessions", session_body("chat-2"))
    assert again["isCached"] and again["runId"] not in (None, body["runId"])
    key = trigger_mock.restricted_key("read:sessions")
    call = trigger_mock.server.call
    assert call("GET", "/api/v1/sessions/chat-2", token=key)[0] == 200
    assert call("POST", "/api/v1/sessions", session_body("x"), token=key)[0] == 403
    SEEN.append(trigger_mock.base_url)


def test_bounds_from_the_fixture(trigger_mock):
    assert trigger_mock.limits()["maxSessions"] == 1000000
    with trigger_mock.limit(maxSessions=1) as changed:
        assert changed.current["maxSessions"] == 1
        assert trigger_mock.api("POST", "/api/v1/sessions", session_body("a"))[0] == 201
        status, body = trigger_mock.api("POST", "/api/v1/sessions", session_body("b"))
        assert status == 507 and "--max-sessions" in body["error"]
    assert trigger_mock.limits()["maxSessions"] == 1000000  # back after the block
    assert trigger_mock.api("POST", "/api/v1/sessions", session_body("b"))[0] == 201
    assert trigger_mock.health()["bounds"]["refusedSessions"] == 1
    SEEN.append(trigger_mock.base_url)


def test_one_server_serves_the_whole_run(trigger_mock_server):
    assert SEEN and set(SEEN) == {trigger_mock_server.base_url}
"""


def test_the_fixtures_work_in_a_users_project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=5)


def test_a_failing_fake_start_is_reported(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_user="def test_uses_it(trigger_mock):\n    pass\n")
    monkeypatch.setenv("TRIGGER_MOCK_FIDELITY", "nonsense")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*trigger-mock serve exited early*"])


PROXY_TESTS = """
import httpx
import pytest


def create(base_url, key, body):
    with httpx.Client(base_url=base_url) as client:
        return client.post("/api/v1/sessions", json=body,
                           headers={"Authorization": "Bearer " + key})


def test_the_proxy_in_front_of_the_fake_sees_no_violation(trigger_mock, trigger_mock_proxy):
    proxy = trigger_mock_proxy()
    answer = create(proxy.base_url, trigger_mock.secret_key,
                    {"type": "chat", "externalId": "e", "taskIdentifier": "t",
                     "triggerConfig": {"basePayload": {}}})
    assert answer.status_code == 201
    assert answer.headers["x-trigger-mock-violations"] == "0"
    proxy.assert_no_violations()
    assert proxy.summary()["exchanges"] == 1
    # The session is on the fake behind it.
    assert [s["externalId"] for s in trigger_mock.sessions()] == ["e"]


def test_a_drifting_upstream_is_reported(trigger_mock, trigger_mock_proxy):
    proxy = trigger_mock_proxy(None, "--expect", "deployed")
    assert proxy.violations() == []  # each test starts with none
    with httpx.Client(base_url=proxy.base_url) as client:
        client.get("/api/v1/sessions/nope",
                   headers={"Authorization": "Bearer " + trigger_mock.secret_key})
    assert {v["rule"] for v in proxy.violations()} == {"fidelity"}
    with pytest.raises(AssertionError, match="contract violation"):
        proxy.assert_no_violations()
"""


def test_the_proxy_fixture_works_in_a_users_project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=PROXY_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=2)
