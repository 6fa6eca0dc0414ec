"""Regenerates ``docs/dashboard.png``, the dashboard screenshot README shows:
``python -m tests.browser.readme_screenshot``. It serves a fake with the echo agent, makes a
few sessions and one chat turn, opens the dashboard on that session in headless Chromium and
saves the page. Same launch as the browser tests (tests/browser/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from mock_server.testing import MockServer

from .conftest import CHROMIUM, LAUNCH_ARGS

OUTPUT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"


def body(external_id: str, task: str, tags: list[str]) -> dict[str, object]:
    return {
        "type": "chat.agent",
        "externalId": external_id,
        "taskIdentifier": task,
        "tags": tags,
        "triggerConfig": {"basePayload": {"chatId": external_id}},
    }


def main() -> None:
    with MockServer("--agent", "echo") as fake, sync_playwright() as playwright:
        mock = fake.handle("tr_dev_readme0screenshot")
        for n, task in enumerate(["support-chat", "support-chat", "sales-agent", "triage"]):
            mock.api("POST", "/api/v1/sessions", body(f"chat-{n + 1}", task, [f"user:{n + 7}"]))
        mock.api("POST", "/api/v1/sessions/chat-4/close", {"reason": "resolved"})
        message = {
            "kind": "message",
            "payload": {
                "trigger": "submit-message",
                "message": {
                    "role": "user",
                    "parts": [{"type": "text", "text": "Where is my order?"}],
                },
            },
        }
        with mock.client() as client:
            client.post("/realtime/v1/sessions/chat-1/in/append", content=json.dumps(message))
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(mock.ui_url)
        page.locator("#sessions tbody tr", has_text="chat-1").click()
        expect(page.get_by_label("records on .out")).to_contain_text("turn-complete")
        page.screenshot(path=str(OUTPUT))
        browser.close()
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
