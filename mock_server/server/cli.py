"""The command line: ``trigger-mock serve | contract | proxy | replay``, each command's
options in its own module, every option mirrored by a ``TRIGGER_MOCK_*`` variable."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence

from .. import __version__
from ..core.settings import Settings
from .contract_command import add_arguments as add_contract_arguments
from .contract_command import run as run_contract
from .proxy_command import add_arguments as add_proxy_arguments
from .proxy_command import run as run_proxy
from .replay_command import add_arguments as add_replay_arguments
from .replay_command import run as run_replay
from .serve_command import add_arguments as add_serve_arguments
from .serve_command import serve, settings_from

__all__ = ["build_parser", "main", "parse_settings", "settings_from"]


def build_parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trigger-mock", description="A local fake of the Trigger.dev Sessions API."
    )
    parser.add_argument("--version", action="version", version=f"trigger-mock {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the fake",
        description="Serve the Sessions API. Every option can also be set with the "
        "TRIGGER_MOCK_<OPTION> environment variable (e.g. TRIGGER_MOCK_PORT=9000).",
    )
    add_serve_arguments(serve, environ)
    contract = commands.add_parser(
        "contract",
        help="check an implementation (this fake, or the real API) against openapi.yaml",
        description="Run the contract suite against --base-url, or against a fake it starts.",
    )
    add_contract_arguments(contract, environ)
    proxy = commands.add_parser(
        "proxy",
        help="forward to an upstream, checking every exchange against the contract",
        description="A validating proxy: forwards every request to --upstream unchanged, "
        "returns its answers unchanged, and lists what breaks the contract at "
        "/_mock/violations. Every option can also be set with TRIGGER_MOCK_<OPTION>.",
    )
    add_proxy_arguments(proxy, environ)
    replay = commands.add_parser(
        "replay",
        help="send a recording's requests to a target (a fake by default) and report "
        "where its answers differ",
    )
    add_replay_arguments(replay, environ)
    return parser


def parse_settings(argv: Sequence[str] | None, environ: Mapping[str, str]) -> Settings:
    """Settings from the command line, falling back to ``TRIGGER_MOCK_*`` variables.
    Bad values, from either place, end the program with a usage error (status 2)."""
    parser = build_parser(environ)
    return settings_from(parser, parser.parse_args(argv), environ)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    parser = build_parser(environ)
    args = parser.parse_args(argv)
    if args.command == "contract":
        return run_contract(args)
    if args.command == "proxy":
        return run_proxy(parser, args)
    if args.command == "replay":
        return run_replay(args)
    return serve(settings_from(parser, args, environ))
