"""The dashboard (``/_mock/ui``) in headless Chromium, against a served fake: sessions made
through the API appear, a record appended through the API shows in the live tail within a
second, the journal filters, copy-as-cURL reproduces a request when run with curl, and a
reset empties the page. Each test leaves ``dashboard.png`` in its ``tmp_path`` (printed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from mock_server.testing import MockServer, TriggerMock

SESSION_BODY = {
    "type": "chat.agent",
    "taskIdentifier": "dash-task",
    "triggerConfig": {"basePayload": {}},
}


@pytest.fixture(scope="module")
def fake() -> Iterator[MockServer]:
    with MockServer("--agent", "echo") as served:
        yield served


@pytest.fixture
def mock(fake: MockServer) -> TriggerMock:
    handle = fake.handle()
    handle.reset()
    return handle


@pytest.fixture
def page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    shot = tmp_path / "dashboard.png"
    opened.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    context.close()
    assert not errors, f"the dashboard's scripts threw: {errors}"


def create(mock: TriggerMock, external_id: str, **extra: object) -> dict[str, object]:
    status, body = mock.api(
        "POST", "/api/v1/sessions", {**SESSION_BODY, "externalId": external_id, **extra}
    )
    assert status == 201, body
    assert isinstance(body, dict)
    return body


def test_sessions_made_through_the_api_appear_and_filter(mock: TriggerMock, page: Page) -> None:
    create(mock, "dash-one", tags=["blue"])
    create(mock, "dash-two")
    page.goto(mock.ui_url)
    rows = page.locator("#sessions tbody tr")
    expect(rows, "both sessions listed").to_have_count(2)
    expect(page.locator("#sessions-count")).to_have_text("1\u20132 of 2")
    page.fill("#f-tag", "blue")
    expect(rows, "the tag filter keeps the tagged session only").to_have_count(1)
    expect(rows.first).to_contain_text("dash-one")
    page.fill("#f-tag", "")
    page.fill("#f-q", "two")
    expect(rows, "search by externalId").to_have_count(1)
    expect(rows.first).to_contain_text("dash-two")


def test_an_append_through_the_api_shows_in_the_live_tail(mock: TriggerMock, page: Page) -> None:
    create(mock, "dash-tail")
    page.goto(mock.ui_url)
    page.locator("#sessions tbody tr", has_text="dash-tail").click()
    tail_in = page.get_by_label("records on .in")
    tail_out = page.get_by_label("records on .out")
    expect(page.locator(".channel h3", has_text=".in")).to_contain_text("live")
    message = {
        "kind": "message",
        "payload": {
            "trigger": "submit-message",
            "message": {
                "id": "u1",
                "role": "user",
                "parts": [{"type": "text", "text": "hello dashboard"}],
            },
        },
    }
    with mock.client() as client:
        answer = client.post(
            "/realtime/v1/sessions/dash-tail/in/append", content=json.dumps(message)
        )
        assert answer.status_code == 200
    expect(tail_in, "the appended message within a second").to_contain_text(
        "hello dashboard", timeout=1000
    )
    expect(tail_out, "the echo agent's reply, as text").to_contain_text("echo: hello dashboard")
    expect(tail_out).to_contain_text("turn-complete")


def test_the_journal_filters_and_copy_as_curl_reproduces_a_request(
    mock: TriggerMock, page: Page
) -> None:
    create(mock, "dash-curl")
    assert mock.api("GET", "/api/v1/sessions/dash-curl")[0] == 200
    page.goto(mock.ui_url + "#requests")
    rows = page.locator("#requests tbody tr")
    expect(rows, "the create and the retrieve").to_have_count(2)
    page.fill("#r-operation", "retrieve_session_v1")
    page.locator("#r-operation").dispatch_event("change")
    expect(rows, "only the retrieve").to_have_count(1)
    rows.first.click()
    page.get_by_role("button", name="Copy as cURL").click()
    command = page.locator("textarea.curl")
    expect(command, "the command, shown").to_have_value(re.compile(r"^curl "))
    curl = shutil.which("curl")
    assert curl, "curl is needed to run the copied command"
    ran = subprocess.run(
        ["sh", "-c", command.input_value()], capture_output=True, text=True, timeout=30
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["externalId"] == "dash-curl"
    retrieves = mock.requests(path="/api/v1/sessions/dash-curl", method="GET")
    assert len(retrieves) == 2, "the copied command reached the fake as the same request"


def test_reset_empties_the_page(mock: TriggerMock, page: Page) -> None:
    create(mock, "dash-reset")
    page.goto(mock.ui_url)
    expect(page.locator("#sessions tbody tr")).to_have_count(1)
    page.get_by_role("tab", name="Controls").click()
    page.get_by_role("button", name="Reset everything").click()
    expect(page.locator("#reset-result")).to_contain_text("dropped 1 sessions")
    page.get_by_role("tab", name="Sessions").click()
    expect(page.locator("#sessions tbody tr"), "no session left").to_have_count(0)
    expect(page.locator("#sessions-count")).to_have_text("no sessions yet")
