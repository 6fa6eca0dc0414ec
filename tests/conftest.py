"""Fixtures: every HTTP test runs against the in-process app and a real
``trigger-mock serve`` process, in both fidelity modes, and every response it gets is
checked against openapi.yaml."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from mock_server.app import create_app
from mock_server.config import Settings
from tests.support import Api, ServerProcess, SpecChecker

MODES = ("documented", "deployed")
TARGETS = ("inprocess", "server")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def checker() -> SpecChecker:
    return SpecChecker()


@pytest.fixture(scope="session")
def servers() -> Iterator[Callable[[str], ServerProcess]]:
    """One real server per mode, started on first use and stopped at the end."""
    started: dict[str, ServerProcess] = {}

    def get(mode: str) -> ServerProcess:
        if mode not in started:
            server = ServerProcess(
                "--fidelity", mode, "--validate-responses", "--log-level", "warning"
            )
            server.wait_ready()
            started[mode] = server
        return started[mode]

    yield get
    for server in started.values():
        assert server.stop() == 0, server.output()


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def checked_client(
    checker: SpecChecker, base_url: str, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    async def check(response: httpx.Response) -> None:
        await response.aread()
        checker.check(response)

    return httpx.AsyncClient(
        transport=transport, base_url=base_url, event_hooks={"response": [check]}, timeout=30
    )


@pytest.fixture
def endpoint(
    target: str, mode: str, servers: Callable[[str], ServerProcess]
) -> tuple[str, httpx.AsyncBaseTransport | None]:
    """Where the HTTP tests send requests: (base URL, transport or None for the network)."""
    if target == "inprocess":
        app = create_app(Settings(fidelity=mode, validate_responses=True))  # type: ignore[arg-type]
        return "http://127.0.0.1:8080", httpx.ASGITransport(app=app)
    return servers(mode).base_url, None


@pytest.fixture
async def client(
    endpoint: tuple[str, httpx.AsyncBaseTransport | None], checker: SpecChecker
) -> AsyncIterator[httpx.AsyncClient]:
    base_url, transport = endpoint
    async with checked_client(checker, base_url, transport) as http:
        yield http
        await http.post("/_mock/clock", json={"real": True})


@pytest.fixture
def api(client: httpx.AsyncClient, mode: str) -> Api:
    return Api(client, mode)


@pytest.fixture
async def other(client: httpx.AsyncClient, mode: str) -> Api:
    """A second environment (another secret key) on the same server."""
    return Api(client, mode)
