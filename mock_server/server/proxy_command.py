"""``trigger-mock proxy``: the validating proxy in front of an upstream.

    trigger-mock proxy --upstream URL [--host H] [--port P] [--expect either|documented|deployed]
                       [--strict] [--report FILE] [--record DIR] [--admin-token T]
                       [--log-level L]

Every option has a ``TRIGGER_MOCK_*`` twin (``TRIGGER_MOCK_UPSTREAM``, …). On stop it
prints the summary: exchanges, violations by rule, and the fidelity rows it saw.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Mapping
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import uvicorn

from .. import __version__
from ..core.settings import ProxySettings

EXPECTS = ("either", "documented", "deployed")
logger = logging.getLogger("trigger_mock")


def add_arguments(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    def env(name: str, default: str | None = None) -> str | None:
        return environ.get("TRIGGER_MOCK_" + name, default)

    parser.add_argument(
        "--upstream",
        default=env("UPSTREAM"),
        help="where to forward: the real API (https://api.trigger.dev) or a fake",
    )
    parser.add_argument("--host", default=env("HOST", "127.0.0.1"), help="default 127.0.0.1")
    parser.add_argument("--port", type=int, default=env("PORT", "8080"), help="default 8080")
    parser.add_argument(
        "--expect",
        default=env("EXPECT", "either"),
        help="which reading of a docs-vs-deployed difference is not a violation: either "
        "(default), documented or deployed",
    )
    parser.add_argument(
        "--strict",
        action=argparse.BooleanOptionalAction,
        default=env("STRICT", "false") in ("1", "true", "yes"),
        help="answer a request that breaks the contract with a 422 here, without "
        "forwarding it (answers are never altered)",
    )
    parser.add_argument(
        "--report",
        default=env("REPORT"),
        metavar="FILE",
        help="append each violation to FILE as a line of JSON",
    )
    parser.add_argument(
        "--record",
        default=env("RECORD"),
        metavar="DIR",
        help="write what passed through to DIR, secrets redacted: cassette.yaml (VCR) and "
        "seed.yaml (--seed-file)",
    )
    parser.add_argument(
        "--admin-token", default=env("ADMIN_TOKEN"), help="require this bearer token on /_mock/"
    )
    parser.add_argument(
        "--log-level",
        default=env("LOG_LEVEL", "info"),
        choices=("critical", "error", "warning", "info", "debug"),
    )


def settings_from(parser: argparse.ArgumentParser, args: argparse.Namespace) -> ProxySettings:
    upstream = (args.upstream or "").rstrip("/")
    parts = urlsplit(upstream)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        parser.error(f"--upstream {args.upstream!r}: give the upstream's URL (http:// or https://)")
    if parts.query or parts.fragment:
        parser.error(f"--upstream {args.upstream!r}: a base URL, without a query")
    if args.expect not in EXPECTS:
        parser.error(f"--expect {args.expect!r}: choose from {', '.join(EXPECTS)}")
    return ProxySettings(
        upstream=upstream,
        host=args.host,
        port=int(args.port),
        expect=args.expect,
        strict=args.strict,
        report=args.report or None,
        record=args.record or None,
        admin_token=args.admin_token or None,
        log_level=args.log_level,
    )


def summary_lines(summary: dict[str, Any]) -> list[str]:
    lines = [
        f"{summary['exchanges']} exchange(s) checked, {summary['violations']} violation(s) in "
        f"{summary['exchangesWithViolations']}; {summary['refusedRequests']} request(s) broke "
        "the contract and were refused by the upstream"
    ]
    lines += [f"  {count:>6}  {rule}" for rule, count in summary["byRule"].items()]
    if summary["leftAlone"]:
        left = ", ".join(f"{why} {n}" for why, n in summary["leftAlone"].items())
        lines.append(f"  not checked: {left}")
    for row in summary["fidelity"]:
        lines.append(
            f"  difference: {row['topic']} -> documented {row['documented']}, "
            f"deployed {row['deployed']}"
        )
    return lines


def _after_shutdown(signum: int, frame: FrameType | None) -> None:
    """SIGINT/SIGTERM once uvicorn has stopped: exit 0."""


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    settings = settings_from(parser, args)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("connexion.operations.openapi3").setLevel(logging.ERROR)
    from ..app.proxy import create_proxy
    from ..core.fidelity import topic_of

    try:
        proxy = create_proxy(settings)
    except (OSError, ValueError) as exc:
        print(f"trigger-mock proxy: {exc}", file=sys.stderr)
        return 2
    logger.info(
        "trigger-mock %s proxy on %s -> %s - expecting %s%s%s",
        __version__,
        settings.base_url,
        settings.upstream,
        settings.expect,
        " - strict" if settings.strict else "",
        f" - recording to {settings.record}" if settings.record else "",
    )
    config = uvicorn.Config(
        proxy,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        server_header=False,
        date_header=False,  # the upstream's Date goes back as it was
        timeout_graceful_shutdown=3,
        lifespan="on",
    )
    for handled in (signal.SIGINT, signal.SIGTERM):
        signal.signal(handled, _after_shutdown)
    from .run import event_loop_factory

    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(uvicorn.Server(config).serve())
        runner.run(proxy.aclose())
    summary = proxy.violations.summary(topic_of)
    for line in summary_lines(summary):
        print(line, file=sys.stderr)
    if settings.report:
        print(f"violations written to {settings.report}", file=sys.stderr)
    logger.debug("summary: %s", json.dumps(summary))
    return 0
