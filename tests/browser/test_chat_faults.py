"""examples/chat in headless Chromium when the API fails on purpose (fault rules,
docs/faults.md): what the SDK's chat transport recovers from by itself, what it does not,
and how the example's retrying send covers the rest.

- The reply stream (``GET …/out``): the transport reconnects by itself, with
  ``Last-Event-ID``, after a cut or a 503.
- A send (``POST …/in/append``): the transport makes one request and fails the send on a
  503, and on a 429 (the rate limiter's 429 has no CORS headers: the browser sees a failed
  fetch). The example's ``fetch`` wrapper tries again (same ``X-Part-Id``) and shows a wait.
- Creating the session (the example's server, with the secret key): the Node SDK waits for a
  rate limit's reset and tries again; the page only waits longer.

Each test leaves a screenshot of the page at ``<tmp_path>/screenshot.png`` (see conftest)."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import Chat

APPEND = "/realtime/v1/sessions/*/in/append"
STREAM = "/realtime/v1/sessions/*/out"
TEXT = "one two three four five six seven eight"
SEND_FAULTS = {
    "503": {"status": 503},
    "rate-limited": {"rate_limit": {"resetSeconds": 1}},  # the deployed limiter's 429
}


def messages_sent(chat: Chat) -> list[str]:
    """The user texts stored on the session's ``.in``, in order."""
    texts = []
    for record in chat.in_records():
        chunk = json.loads(record["data"]) if record["data"] else {}
        if chunk.get("kind") == "message":
            texts.append(chunk["payload"]["message"]["parts"][0]["text"])
    return texts


@pytest.mark.parametrize(
    "fault", [{"cut_after_records": 3}, {"status": 503}], ids=["cut-after-3", "503"]
)
def test_the_transport_resumes_a_broken_reply_stream(chat: Chat, fault: dict[str, Any]) -> None:
    """The stream breaks after 3 records (or its first request gets a 503): the transport
    subscribes again from the last record it saw and the reply ends whole, each word once.
    Screenshot: tmp_path."""
    rule = chat.fake.fault(method="GET", path=STREAM, **fault)
    streams: list[str | None] = []
    chat.page.on(
        "request",
        lambda r: (
            streams.append(r.headers.get("last-event-id")) if r.url.endswith("/out") else None
        ),
    )
    chat.open()
    chat.send(TEXT)

    expect(chat.replies).to_have_text([f"echo: {TEXT}"])
    expect(chat.page.get_by_role("button", name="Send")).to_be_enabled()
    expect(chat.status).to_be_empty()  # no error shown
    assert rule.fired == 1
    assert len(streams) >= 2, f"expected the transport to subscribe again, saw {streams}"
    if "cut_after_records" in fault:
        assert streams[1] is not None, "expected the second subscription to send Last-Event-ID"


@pytest.mark.parametrize("fault", SEND_FAULTS.values(), ids=SEND_FAULTS.keys())
def test_the_transport_alone_does_not_retry_a_failed_send(
    chat: Chat, fault: dict[str, Any]
) -> None:
    """``?retries=0`` turns the example's retries off: the SDK's transport sends once, and
    the send fails (the page says so and hands the text back); sending again works.
    Screenshots: tmp_path (not-sent.png, screenshot.png)."""
    chat.fake.fault(method="POST", path=APPEND, **fault)
    chat.open("?retries=0")
    chat.send(TEXT)

    # A 503 comes with CORS headers and its status is readable; the limiter's 429 has none,
    # so the browser reports a failed fetch.
    reason = "appendToSessionStream failed: 503" if "status" in fault else "Failed to fetch"
    expect(chat.status).to_have_text(re.compile(f"^Not sent: {reason}"))
    expect(chat.status).to_have_class("error")
    expect(chat.input).to_have_value(TEXT)
    expect(chat.user_messages).to_have_count(0)
    chat.screenshot("not-sent")
    assert chat.appends() == [503 if "status" in fault else 429], "the SDK tried once"
    assert messages_sent(chat) == []

    chat.page.get_by_role("button", name="Send").click()
    expect(chat.replies).to_have_text([f"echo: {TEXT}"])
    expect(chat.status).to_be_empty()
    assert messages_sent(chat) == [TEXT]
    assert not chat.page_errors, chat.page_errors


@pytest.mark.parametrize("fault", SEND_FAULTS.values(), ids=SEND_FAULTS.keys())
def test_the_example_waits_and_sends_again(chat: Chat, fault: dict[str, Any]) -> None:
    """With the example's retries (the default), a refused send shows as a wait, not an
    error, and goes through once. Screenshots: tmp_path (waiting.png, screenshot.png)."""
    chat.fake.fault(method="POST", path=APPEND, **fault)
    chat.open()
    chat.send(TEXT)

    expect(chat.status).to_have_text("Waiting 1 s, then sending again…")
    expect(chat.status).not_to_have_class("error")
    chat.screenshot("waiting")
    expect(chat.replies).to_have_text([f"echo: {TEXT}"])
    expect(chat.status).to_be_empty()
    first = 503 if "status" in fault else 429
    assert chat.appends() == [first, 200]
    assert messages_sent(chat) == [TEXT], "the message is stored once"


def test_a_rate_limited_session_start_is_a_longer_wait(chat: Chat) -> None:
    """The deployed limiter refuses the example server's ``POST /api/v1/sessions`` once: the
    Node SDK waits for ``x-ratelimit-reset`` and creates the session; the page shows the
    message pending, then the reply, and no error. Screenshot: tmp_path."""
    chat.fake.fault(operation="create_session_v1", rate_limit={"resetSeconds": 1})
    chat.open()
    started = time.monotonic()
    chat.send(TEXT)

    expect(chat.user_messages).to_have_text([TEXT])
    expect(chat.page.get_by_role("button", name="Send")).to_be_disabled()
    expect(chat.replies).to_have_text([f"echo: {TEXT}"])
    expect(chat.status).to_be_empty()
    assert time.monotonic() - started >= 1, "the SDK should have waited for the reset"
    creates = chat.fake.requests(method="POST", path="/api/v1/sessions")
    assert [entry["status"] for entry in reversed(creates)] == [429, 201]
