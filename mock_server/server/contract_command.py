"""``trigger-mock contract``: the contract suite against a URL, or against a fake it starts.

    trigger-mock contract [--base-url URL] [--secret-key KEY] [--allow-writes]
                          [--dedicated-environment] [--task-identifier ID]
                          [--junit-xml PATH] [--fidelity MODE]
                          [--examples N] [--seed N] [--through-proxy]
                          [-- extra pytest args]

``--base-url`` defaults to ``$TRIGGER_API_URL`` and ``--secret-key`` to
``$TRIGGER_SECRET_KEY``, as in the SDK. Without a URL the suite starts
``trigger-mock serve --fidelity MODE`` on a free port and stops it afterwards.
``--through-proxy`` puts ``trigger-mock proxy`` in front of the target (expecting the
fake's mode when the target is the fake), reports its violations after the suite's own
results (and beside ``--junit-xml``), and fails the run if there is any.

The suite is the ``contract_tests`` package, installed beside this one. It is run by
pytest, never imported from here: ``contract_tests`` uses the fake (to start one), so the
fake cannot use it.
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Mapping
from pathlib import Path

SUITE = "contract_tests"


def suite_dir() -> Path:
    """Where the ``contract_tests`` package is (found, not imported)."""
    spec = importlib.util.find_spec(SUITE)
    if spec is None or spec.origin is None:
        raise SystemExit(f"trigger-mock contract: the {SUITE} package is not installed")
    return Path(spec.origin).resolve().parent


def add_arguments(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    parser.add_argument(
        "--base-url",
        default=environ.get("TRIGGER_API_URL"),
        help="the implementation to check (default: $TRIGGER_API_URL, else a "
        "fake this command starts)",
    )
    parser.add_argument(
        "--secret-key",
        default=environ.get("TRIGGER_SECRET_KEY"),
        help="its secret key (default: $TRIGGER_SECRET_KEY)",
    )
    parser.add_argument(
        "--allow-writes",
        action="store_true",
        help="create sessions on a real target (each triggers a run)",
    )
    parser.add_argument(
        "--dedicated-environment",
        action="store_true",
        help="the key's environment holds nothing else: run schemathesis there too",
    )
    parser.add_argument(
        "--task-identifier",
        default=environ.get("TRIGGER_CONTRACT_TASK"),
        help="the task those sessions run (must exist on a real target)",
    )
    parser.add_argument("--junit-xml", metavar="PATH", help="write a JUnit XML report")
    parser.add_argument(
        "--fidelity",
        choices=("documented", "deployed"),
        default="documented",
        help="mode of the fake started when there is no URL",
    )
    parser.add_argument(
        "--examples",
        type=int,
        default=None,
        help="schemathesis examples per operation (default 50)",
    )
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed, to replay a run")
    parser.add_argument(
        "--through-proxy",
        action="store_true",
        help="run through trigger-mock proxy and report the violations it sees too "
        "(any violation fails the run)",
    )
    parser.add_argument(
        "pytest_args",
        nargs=argparse.REMAINDER,
        help="after --, arguments for pytest (e.g. -k create -x)",
    )


def pytest_args(args: argparse.Namespace) -> list[str]:
    target = args.base_url or f"serve:{args.fidelity}"
    package = suite_dir()
    argv = [
        "-c",
        str(package / "contract.ini"),
        "--rootdir",
        str(package),
        "--pyargs",
        SUITE,
        "--contract-target",
        target,
    ]
    if args.secret_key:
        argv += ["--contract-secret-key", args.secret_key]
    if args.allow_writes:
        argv.append("--contract-allow-writes")
    if args.dedicated_environment:
        argv.append("--contract-dedicated-environment")
    if args.task_identifier:
        argv += ["--contract-task-identifier", args.task_identifier]
    if args.junit_xml:
        argv += ["--junit-xml", args.junit_xml]
    if args.examples is not None:
        argv += ["--contract-examples", str(args.examples)]
    if args.seed is not None:
        argv += ["--hypothesis-seed", str(args.seed)]
    if args.through_proxy:
        argv.append("--contract-through-proxy")
    extra = list(args.pytest_args)
    return argv + (extra[1:] if extra[:1] == ["--"] else extra)


def run(args: argparse.Namespace) -> int:
    try:
        import pytest
    except ImportError:  # pragma: no cover - depends on the installation
        print("trigger-mock contract needs the test extra: pip install 'trigger-mock[test]'")
        return 2
    return int(pytest.main(pytest_args(args)))
