"""The dashboard's files (``/_mock/ui``): served from the package with a policy that keeps
the page to this server, every file the page loads present, and ``--no-ui`` turning it
off. The page's behaviour is tested in Chromium (tests/browser)."""

from __future__ import annotations

import re

import httpx
import pytest

from mock_server.app import create_app
from mock_server.core.settings import Settings
from mock_server.server.cli import parse_settings

pytestmark = pytest.mark.anyio


async def get(settings: Settings, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as client:
        return await client.get(path)


async def test_every_file_the_page_loads_is_served_without_a_token() -> None:
    settings = Settings(admin_token="secret")  # the files hold no data: no token needed
    page = await get(settings, "/_mock/ui")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    pending = re.findall(r'(?:href|src)="/_mock/ui/([^"]+)"', page.text)
    assert {"app.js", "style.css"} <= set(pending)
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        asset = await get(settings, f"/_mock/ui/{name}")
        assert asset.status_code == 200, name
        assert "http://" not in asset.text and "https://" not in asset.text, name  # no CDN
        pending += re.findall(r'from "\./([a-z]+\.js)"', asset.text)
    assert {"api.js", "sessions.js", "requests.js", "controls.js", "tail.js"} <= seen


async def test_the_dashboard_needs_the_token_for_data() -> None:
    refused = await get(Settings(admin_token="secret"), "/_mock/sessions?limit=1")
    assert refused.status_code == 401


@pytest.mark.parametrize("path", ["/_mock/ui", "/_mock/ui/app.js", "/_mock/ui/nothing.js"])
async def test_no_ui_turns_it_off(path: str) -> None:
    answer = await get(Settings(ui=False), path)
    assert answer.status_code == 404
    assert "error" in answer.json()


def test_the_switch_and_its_twin() -> None:
    assert parse_settings(["serve"], {}).ui is True
    assert parse_settings(["serve", "--no-ui"], {}).ui is False
    assert parse_settings(["serve"], {"TRIGGER_MOCK_UI": "false"}).ui is False
