"""`trigger-mock contract`'s arguments, as they reach pytest. (Runs of the suite are in
``tests/http/test_contract_cli.py``.)"""

from __future__ import annotations

from pathlib import Path

import contract_tests
from mock_server.server.cli import build_parser
from mock_server.server.contract_command import pytest_args

SUITE_DIR = Path(contract_tests.__file__).resolve().parent


def contract_args(*argv: str) -> list[str]:
    return pytest_args(build_parser({}).parse_args(["contract", *argv]))


def test_without_a_url_the_suite_starts_the_fake() -> None:
    argv = contract_args("--fidelity", "deployed", "--examples", "5", "--seed", "7")
    assert argv[:7] == [
        "-c",
        str(SUITE_DIR / "contract.ini"),
        "--rootdir",
        str(SUITE_DIR),
        "--pyargs",
        "contract_tests",
        "--contract-target",
    ]
    assert argv[7] == "serve:deployed"
    assert argv[8:] == ["--contract-examples", "5", "--hypothesis-seed", "7"]


def test_the_sdk_variables_and_options_reach_pytest() -> None:
    parser_env = {"TRIGGER_API_URL": "https://staging.example", "TRIGGER_SECRET_KEY": "tr_stg_k"}
    args = build_parser(parser_env).parse_args(
        ["contract", "--allow-writes", "--task-identifier", "t", "--junit-xml", "j.xml", "--", "-x"]
    )
    argv = pytest_args(args)
    assert argv[argv.index("--contract-target") + 1] == "https://staging.example"
    assert argv[argv.index("--contract-secret-key") + 1] == "tr_stg_k"
    assert "--contract-allow-writes" in argv
    assert argv[argv.index("--contract-task-identifier") + 1] == "t"
    assert argv[argv.index("--junit-xml") + 1] == "j.xml"
    assert argv[-1] == "-x"


def test_through_proxy_reaches_the_plugin() -> None:
    assert "--contract-through-proxy" in contract_args("--through-proxy")
    assert "--contract-through-proxy" not in contract_args()
