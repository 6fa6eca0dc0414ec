"""The contract suite's pytest plugin: options, targets, fixtures, markers, summary.

Installed with the package (entry point ``pytest11``); it does nothing unless a test asks
for its fixtures. Options (each with the SDK's environment variable as default):

* ``--contract-target`` (repeatable): a URL, ``serve:documented|deployed`` or
  ``inprocess:documented|deployed``; default ``$TRIGGER_API_URL``, else the
  ``contract_targets`` ini value, else ``serve:documented``;
* ``--contract-secret-key`` (``$TRIGGER_SECRET_KEY``): the key for a URL target;
* ``--contract-allow-writes``: let the suite create sessions on a real target (they
  trigger runs);
* ``--contract-task-identifier`` (``$TRIGGER_CONTRACT_TASK``): the task those sessions run;
* ``--contract-through-proxy``: reach each served or URL target through ``trigger-mock
  proxy``, report what it found after the rules, and fail the run on any violation.

Load it with ``-p contract_tests.plugin`` (``trigger-mock contract`` does).

Markers: ``mock_only`` (needs the fake's ``/_mock/`` control plane) and ``writes`` (creates
sessions). Tests that cannot run on a target skip, and say why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Generator, Iterator
from typing import Any

import httpx
import hypothesis
import pytest

from mock_server.app import create_app
from mock_server.core.fidelity import Fidelity
from mock_server.core.settings import Settings

from . import proxied
from .client import ContractApi, Naming, SpecChecker, checked_client, new_key
from .proxied import PROXIES, Proxies
from .report import Report
from .targets import LiveTarget, Targets, TargetSpec

__all__ = ["REPORT", "RUN", "LiveTarget", "Targets"]

REPORT = pytest.StashKey[Report]()
RUN = pytest.StashKey[str]()
DEFAULT_TASK = "trigger-mock-contract"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("trigger-mock contract")
    group.addoption(
        "--contract-target",
        action="append",
        default=None,
        metavar="TARGET",
        help="URL, serve:documented|deployed or inprocess:documented|deployed",
    )
    group.addoption(
        "--contract-secret-key",
        default=os.environ.get("TRIGGER_SECRET_KEY"),
        help="secret key for a URL target (default: $TRIGGER_SECRET_KEY)",
    )
    group.addoption(
        "--contract-allow-writes",
        action="store_true",
        default=False,
        help="create sessions on a real target (each one triggers a run)",
    )
    group.addoption(
        "--contract-task-identifier",
        default=os.environ.get("TRIGGER_CONTRACT_TASK", DEFAULT_TASK),
        help="task the created sessions run (must exist on a real target)",
    )
    group.addoption(
        "--contract-dedicated-environment",
        action="store_true",
        default=False,
        help="the key's environment holds nothing but this run: lets schemathesis loose on it",
    )
    group.addoption(
        "--contract-examples",
        type=int,
        default=50,
        help="schemathesis examples per operation (the stateful phase runs half as many)",
    )
    group.addoption(
        "--contract-through-proxy",
        action="store_true",
        default=False,
        help="put trigger-mock proxy in front of each target; any violation it sees fails the run",
    )
    parser.addini("contract_targets", "default contract targets, space-separated", default="")


def pytest_configure(config: pytest.Config) -> None:
    examples = int(config.getoption("--contract-examples"))
    hypothesis.settings.register_profile(
        "trigger-mock-contract",
        max_examples=examples,
        stateful_step_count=6,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    hypothesis.settings.load_profile("trigger-mock-contract")
    config.addinivalue_line("markers", "mock_only: needs the fake's /_mock/ control plane")
    config.addinivalue_line("markers", "writes: creates sessions (real runs on a real target)")
    config.stash[REPORT] = Report()
    config.stash[RUN] = uuid.uuid4().hex[:8]
    if config.getoption("--contract-through-proxy"):
        if any(spec.kind == "inprocess" for spec in target_specs(config)):
            raise pytest.UsageError(
                "--contract-through-proxy: an in-process target has no address to put a "
                "proxy in front of (use serve:documented, serve:deployed or a URL)"
            )
        config.stash[PROXIES] = Proxies()


def target_specs(config: pytest.Config) -> list[TargetSpec]:
    given = config.getoption("--contract-target")
    if not given:
        env_url = os.environ.get("TRIGGER_API_URL")
        ini = str(config.getini("contract_targets")).split()
        given = [env_url] if env_url else ini or ["serve:documented"]
    return [TargetSpec.parse(text) for text in given]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "contract_target" in metafunc.fixturenames:
        specs = target_specs(metafunc.config)
        metafunc.parametrize(
            "contract_target", specs, ids=[s.id for s in specs], indirect=True, scope="session"
        )


@pytest.fixture(scope="session")
def contract_targets(pytestconfig: pytest.Config) -> Iterator[Targets]:
    targets = Targets(pytestconfig)
    yield targets
    targets.stop()


@pytest.fixture(scope="session")
def contract_target(request: pytest.FixtureRequest, contract_targets: Targets) -> LiveTarget:
    return contract_targets.get(request.param)


@pytest.fixture(scope="session")
def spec_checker() -> SpecChecker:
    return SpecChecker()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _skip_unless_possible(request: pytest.FixtureRequest, target: LiveTarget) -> None:
    info = target.info
    if request.node.get_closest_marker("mock_only") and not info.is_mock:
        pytest.skip(f"needs the fake's /_mock/ control plane; {info.id} is not trigger-mock")
    if request.node.get_closest_marker("writes") and not info.writes:
        pytest.skip(
            f"creates sessions, which run tasks on {info.id}: "
            "pass --allow-writes to trigger-mock contract (pytest: --contract-allow-writes)"
        )
    if target.key is None and not info.is_mock:
        pytest.skip(f"no secret key for {info.id}: pass --secret-key or set TRIGGER_SECRET_KEY")


@pytest.fixture
async def contract_client(
    request: pytest.FixtureRequest, contract_target: LiveTarget, spec_checker: SpecChecker
) -> AsyncIterator[httpx.AsyncClient]:
    _skip_unless_possible(request, contract_target)
    transport: httpx.AsyncBaseTransport | None = None
    app = None
    if contract_target.spec.kind == "inprocess":
        # The app as `serve` runs it, fast lane and all: the client checks every response.
        app = create_app(Settings(fidelity=Fidelity(contract_target.spec.value)))
        transport = httpx.ASGITransport(app=app)
    async with checked_client(spec_checker, contract_target.base_url, transport) as client:
        yield client
        if contract_target.info.is_mock:
            await client.post("/_mock/clock", json={"real": True})
    if app is not None:
        assert app.lane is not None
        report = request.config.stash[REPORT]
        report.lane(contract_target.spec.id, app.lane.answered, app.state.journal.total)


def _api(
    request: pytest.FixtureRequest, client: httpx.AsyncClient, target: LiveTarget
) -> ContractApi:
    config = request.config
    run = config.stash[RUN]
    naming = Naming(run, f"{run}-{uuid.uuid4().hex[:6]}")
    return ContractApi(
        client,
        target.info,
        target.key or new_key(),
        naming,
        task_identifier=config.getoption("--contract-task-identifier"),
        observe=config.stash[REPORT].observe,
    )


@pytest.fixture
async def api(
    request: pytest.FixtureRequest, contract_client: httpx.AsyncClient, contract_target: LiveTarget
) -> AsyncIterator[ContractApi]:
    """This test's client, in its own names (and, on the fake, its own environment)."""
    client = _api(request, contract_client, contract_target)
    yield client
    if not contract_target.info.is_mock:
        await client.clean_up()


@pytest.fixture
def other_api(
    request: pytest.FixtureRequest, contract_client: httpx.AsyncClient, contract_target: LiveTarget
) -> ContractApi:
    """A client for a second environment (another secret key): the fake only."""
    if not contract_target.info.is_mock:
        pytest.skip(f"needs a second environment; {contract_target.info.id} has one key")
    return _api(request, contract_client, contract_target)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    module = getattr(item, "module", None)
    if module is None or not module.__name__.startswith("contract_tests."):
        return report  # the fake's own tests borrow the fixtures, not the report
    callspec = getattr(item, "callspec", None)
    spec = callspec.params.get("contract_target") if callspec else None
    if isinstance(spec, TargetSpec) and (report.when == "call" or not report.passed):
        outcome: str = report.outcome
        if report.skipped and isinstance(report.longrepr, tuple):
            outcome = "skipped: " + str(report.longrepr[2]).removeprefix("Skipped: ")
        item.config.stash[REPORT].outcome(spec.id, item.name, outcome)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, None, None]:
    """Once the targets have stopped (their proxies read back), fail a passing run if a
    proxy found any violation."""
    yield
    proxies = session.config.stash.get(PROXIES, None)
    if proxies is not None and not proxies.clean and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    report = config.stash.get(REPORT, None)
    if report is not None and report.targets:
        terminalreporter.section("trigger-mock contract: rules per target")
        for line in report.lines(every_rule=len(report.targets) == 1):
            terminalreporter.write_line(line)
    proxies = config.stash.get(PROXIES, None)
    if proxies is not None and proxies.findings:
        terminalreporter.section("trigger-mock contract: what the proxy saw")
        for line in proxied.lines(proxies):
            terminalreporter.write_line(line)
