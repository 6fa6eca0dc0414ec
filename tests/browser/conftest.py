"""Fixtures for the browser tests: examples/chat in headless Chromium, against the fake.

- ``echo_fake`` (session): ``trigger-mock serve --agent echo`` on a free port, the agent
  slowed to :data:`AGENT_DELAY_MS` a chunk so a reply visibly grows and can be interrupted.
- ``browser`` (session): the system's Chromium (``/usr/bin/chromium``) driven by Playwright
  for Python; Playwright downloads no browser of its own. Each launch gets a fresh, temporary
  profile (``--user-data-dir``, made and removed by Playwright); :data:`LAUNCH_ARGS` keep
  Chromium from calling out to Google's services, which a closed network refuses.
- ``example_app`` (session): the example's own server (``examples/chat/server.mjs``) on
  another free port, so the page and the API are different origins, holding a secret key.
- ``chat`` (function): the fake reset, a new browser context (empty storage) and a page that
  records every answer it got from the fake. When the test ends, passed or failed, a
  screenshot of the page goes to ``<tmp_path>/screenshot.png`` (pytest's temporary directory
  for the test: ``/tmp/pytest-of-$USER/pytest-current/<test name, cut>current/`` by default;
  the path is printed, and shown with a failure). Some tests save more on the way.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import (
    Browser,
    Locator,
    Page,
    Request,
    Response,
    expect,
    sync_playwright,
)

from mock_server.testing import MockServer, ServedProcess, TriggerMock, free_port, new_secret_key

CHROMIUM = Path("/usr/bin/chromium")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "chat"
LAUNCH_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AGENT_DELAY_MS = 50
STORE = "trigger-chat-example"  # the page's sessionStorage key (examples/chat/src/app.js)
# How long an `expect(...)` waits for the page to show something: a reply takes well under
# a second here, a retry a second or two, but CI machines can be busy.
expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def echo_fake() -> Iterator[MockServer]:
    with MockServer("--agent", "echo", "--agent-delay-ms", str(AGENT_DELAY_MS)) as fake:
        yield fake


@pytest.fixture(scope="session")
def example_built() -> Path:
    """examples/chat with its bundle built (``npm run build``: esbuild, well under a second)."""
    npm = shutil.which("npm")
    assert npm, "the browser tests need Node.js 20+ and npm for examples/chat"
    assert (EXAMPLE / "node_modules" / "esbuild").is_dir(), (
        "examples/chat is not installed: `make test` installs it (npm ci --prefix examples/chat)"
    )
    build = subprocess.run(
        [npm, "run", "--silent", "build"], cwd=EXAMPLE, capture_output=True, text=True
    )
    assert build.returncode == 0, f"npm run build failed:\n{build.stdout}{build.stderr}"
    return EXAMPLE


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Per module: Playwright's sync API holds an event loop while it runs, and the suite's
    async tests need the thread's loop free again once the browser tests are done."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive the system Chromium. Install it "
            "with `sudo apt-get install --no-install-recommends chromium` (Debian; .ci/run "
            "does this in CI).",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()


@dataclass
class Chat:
    """One test's chat: the page, the example's server, and the fake seen with the example
    server's secret key (its journal, fault rules and sessions are this test's only)."""

    page: Page
    app: ServedProcess
    fake: TriggerMock
    shots: Path
    """Where screenshots go: the test's ``tmp_path``."""
    answers: list[Response] = field(default_factory=list)
    """Every answer the page got from the fake (not from the example's server)."""
    failures: list[tuple[Request, str]] = field(default_factory=list)
    """Requests to the fake that got no answer, with the browser's reason."""
    page_errors: list[str] = field(default_factory=list)
    """Exceptions the page's scripts did not catch."""

    def open(self, query: str = "") -> None:
        self.page.goto(self.app.base_url + "/" + query)
        # The page shows the API's URL once it has its config; it sets up the transport and
        # the form in the same task, so from here on the page is ready.
        expect(self.page.locator("#api-url")).to_have_text(self.fake.base_url)

    @property
    def input(self) -> Locator:
        return self.page.get_by_role("textbox", name="Message")

    @property
    def status(self) -> Locator:
        return self.page.get_by_role("status")

    @property
    def replies(self) -> Locator:
        return self.page.locator("#messages .assistant")

    @property
    def user_messages(self) -> Locator:
        return self.page.locator("#messages .user")

    def send(self, text: str) -> None:
        self.input.fill(text)
        self.page.get_by_role("button", name="Send").click()

    def chat_id(self) -> str:
        return str(self.stored()["id"])

    def stored(self) -> dict[str, Any]:
        """What the page keeps in sessionStorage."""
        return dict(json.loads(self.page.evaluate(f"sessionStorage.getItem({STORE!r})")))

    def in_records(self) -> list[dict[str, Any]]:
        """The session's ``.in`` records, read with the secret key."""
        path = f"/realtime/v1/sessions/{quote(self.chat_id(), safe='')}/in/records"
        status, body = self.fake.api("GET", path)
        assert status == 200, (status, body)
        return list(body["records"])

    def appends(self) -> list[int]:
        """The statuses the fake gave the page's ``.in`` appends, oldest first."""
        sent = self.fake.requests(method="POST", path="/realtime/v1/sessions/*/in/append")
        return [entry["status"] for entry in reversed(sent)]

    def record_renders(self) -> None:
        """From now on, note each text the newest reply shows (``renders()`` reads them)."""
        self.page.evaluate(
            """() => {
              window.renders = [];
              const list = document.getElementById("messages");
              new MutationObserver(() => {
                const text = [...list.querySelectorAll(".assistant")].at(-1)?.textContent;
                if (text !== undefined && text !== window.renders.at(-1)) window.renders.push(text);
              }).observe(list, { childList: true, subtree: true, characterData: true });
            }"""
        )

    def renders(self) -> list[str]:
        return [str(text) for text in self.page.evaluate("window.renders")]

    def screenshot(self, name: str = "screenshot") -> Path:
        """The page as it is now, in ``<tmp_path>/<name>.png`` (the path is printed)."""
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=path, full_page=True)
        print(f"screenshot: {path}")
        return path


@pytest.fixture(scope="session")
def example_app(echo_fake: MockServer, example_built: Path) -> Iterator[tuple[ServedProcess, str]]:
    """The example's server (``node server.mjs``: a second or so to load the SDK, so one for
    the run) and the secret key it holds."""
    node = shutil.which("node")
    assert node, "the browser tests need Node.js 20+"
    secret_key = new_secret_key()
    port = free_port()
    env = {
        "PORT": str(port),
        "TRIGGER_API_URL": echo_fake.base_url,
        "TRIGGER_SECRET_KEY": secret_key,
    }
    with ServedProcess(
        [node, "server.mjs"], port, name="examples/chat", env=env, cwd=example_built
    ) as app:
        yield app, secret_key


@pytest.fixture
def chat(
    browser: Browser,  # first: without Chromium, fail before starting anything
    echo_fake: MockServer,
    example_app: tuple[ServedProcess, str],
    tmp_path: Path,
) -> Iterator[Chat]:
    app, secret_key = example_app
    fake = echo_fake.handle(secret_key)
    fake.reset()  # no sessions, journal or fault rules from an earlier test
    context = browser.new_context(viewport={"width": 720, "height": 600})  # empty storage
    page = context.new_page()
    chat = Chat(page, app, fake, tmp_path)
    fake_origin = echo_fake.base_url
    page.on("response", lambda r: chat.answers.append(r) if r.url.startswith(fake_origin) else None)
    page.on(
        "requestfailed",
        lambda r: (
            chat.failures.append((r, r.failure or "?")) if r.url.startswith(fake_origin) else None
        ),
    )
    page.on("pageerror", lambda error: chat.page_errors.append(str(error)))
    try:
        yield chat
    finally:
        chat.screenshot()  # how the page looked at the end, or when an assertion failed
        context.close()
