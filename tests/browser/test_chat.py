"""examples/chat in headless Chromium against ``trigger-mock serve --agent echo``: a reply
shown word by word, a second turn, a reload in the middle of a reply, closing the chat, all
across origins (the page on one port, the API on another).

Each test leaves a screenshot of the page at ``<tmp_path>/screenshot.png`` (see conftest)."""

from __future__ import annotations

from playwright.sync_api import expect

from .conftest import Chat

WORDS = " ".join(f"w{n:02}" for n in range(1, 41))  # a reply of 41 chunks: ~2 s to stream


def test_a_reply_streams_in_word_by_word_from_another_origin(chat: Chat) -> None:
    """Two turns; the first reply is seen growing; every call to the API, on another
    origin, is answered with CORS headers for the page's origin. Screenshot: tmp_path."""
    chat.open()
    page_origin = chat.page.evaluate("location.origin")
    assert page_origin != chat.fake.base_url, "the page and the API must be different origins"

    final = "echo: hello from the browser tests"
    chat.record_renders()
    chat.send("hello from the browser tests")
    expect(chat.replies.last).to_have_text(final)
    partial = [text for text in chat.renders() if text and text != final]
    assert len(partial) >= 2, f"expected the reply to grow in several steps, saw {partial}"
    assert all(final.startswith(text) for text in partial), partial
    assert [len(text) for text in partial] == sorted(len(text) for text in partial), partial

    chat.send("and a second turn")
    expect(chat.replies).to_have_text(
        ["echo: hello from the browser tests", "echo: and a second turn"]
    )
    expect(chat.user_messages).to_have_text(["hello from the browser tests", "and a second turn"])
    expect(chat.status).to_be_empty()

    # Cross-origin calls worked: appends and streams, each allowed for the page's origin.
    calls = {(a.request.method, a.url.rsplit("/", 1)[-1]) for a in chat.answers}
    assert calls == {("POST", "append"), ("GET", "out")}, calls
    for answer in chat.answers:
        assert answer.ok, f"{answer.request.method} {answer.url} -> {answer.status}"
        assert answer.headers.get("access-control-allow-origin") == page_origin, answer.url
    refused = [(r.url, why) for r, why in chat.failures if "ERR_ABORTED" not in why]
    assert not refused, f"requests to the API the browser refused or lost: {refused}"
    assert chat.appends() == [200, 200]
    assert not chat.page_errors, chat.page_errors


def test_a_reload_in_the_middle_of_a_reply_resumes_it(chat: Chat) -> None:
    """The page is reloaded while the second reply streams: it follows the stream again
    from where that reply began (Last-Event-ID: the first turn's end) and shows it whole,
    once. Screenshots: tmp_path (before-reload.png, screenshot.png)."""
    chat.open()
    chat.send("first")
    expect(chat.replies).to_have_text(["echo: first"])

    chat.send(WORDS)
    expect(chat.replies.last).to_contain_text("echo: w01 w02")
    assert chat.stored()["session"]["isStreaming"] is True
    shown = chat.replies.last.text_content() or ""
    assert not shown.endswith("w40"), "the reply finished before the reload; make it longer"
    chat.screenshot("before-reload")
    resumed_from: list[str | None] = []
    chat.page.on(
        "request",
        lambda r: (
            resumed_from.append(r.headers.get("last-event-id")) if r.url.endswith("/out") else None
        ),
    )
    chat.page.reload()

    expect(chat.replies).to_have_text(["echo: first", f"echo: {WORDS}"])
    expect(chat.user_messages).to_have_text(["first", WORDS])
    expect(chat.page.get_by_role("button", name="Send")).to_be_enabled()  # the turn ended
    expect(chat.status).to_be_empty()
    assert resumed_from and resumed_from[0] is not None, (
        f"expected the resumed stream to send Last-Event-ID, sent {resumed_from}"
    )
    assert chat.stored()["session"]["isStreaming"] is False
    assert chat.appends() == [200, 200], "a reload must not send the message again"


def test_closing_the_chat_disables_the_input(chat: Chat) -> None:
    """Close (the example's server closes the session with the secret key): the input and
    the send button are disabled, also after a reload. Screenshot: tmp_path."""
    chat.open()
    close = chat.page.get_by_role("button", name="Close chat")
    expect(close).to_be_disabled()  # nothing to close before the first message
    chat.send("hi")
    expect(chat.replies).to_have_text(["echo: hi"])
    close.click()

    expect(chat.status).to_have_text("This chat is closed.")
    expect(chat.input).to_be_disabled()
    expect(chat.page.get_by_role("button", name="Send")).to_be_disabled()
    [session] = chat.fake.sessions()
    assert session["status"] == "CLOSED"
    assert session["closedReason"] == "closed by the user"

    chat.page.reload()
    expect(chat.input).to_be_disabled()
    expect(chat.status).to_have_text("This chat is closed.")
    expect(chat.replies).to_have_text(["echo: hi"])
