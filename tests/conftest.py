"""Fixtures for the fake's own HTTP tests (what only the fake has: control plane, its
robustness policies). Each runs against the in-process app and a real `trigger-mock serve`,
in both modes, every response checked against the specs. The API's rules are tested by the
contract suite (`contract_tests`), which this repository runs against the same four."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from contract_tests.client import SpecChecker, checked_client
from contract_tests.targets import ServedFake
from mock_server.app import create_app
from mock_server.config import Settings
from tests.support import Api

MODES = ("documented", "deployed")
TARGETS = ("inprocess", "server")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def checker() -> SpecChecker:
    return SpecChecker()


@pytest.fixture(scope="session")
def servers() -> Iterator[Callable[[str], ServedFake]]:
    """One real server per mode, started on first use and stopped at the end."""
    started: dict[str, ServedFake] = {}

    def get(mode: str) -> ServedFake:
        if mode not in started:
            server = ServedFake.for_contract(mode)
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


@pytest.fixture
def endpoint(
    target: str, mode: str, servers: Callable[[str], ServedFake]
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
