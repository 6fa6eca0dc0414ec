"""``trigger-mock serve``: its options, each mirrored by a ``TRIGGER_MOCK_*`` variable,
and running the fake."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys
from collections.abc import Mapping
from types import FrameType

import uvicorn

from .. import __version__
from ..auth.environments import KEY_PREFIX, parse_key_spec
from ..auth.ratelimit import LimitPolicy
from ..core.fidelity import Fidelity
from ..core.settings import Settings
from ..http.forwarded import DEFAULT_TRUSTED, TrustedProxies
from .limit_options import add_limit_arguments, limits_from

ENV_PREFIX = "TRIGGER_MOCK_"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")

logger = logging.getLogger("trigger_mock")


def _env_list(value: str | None) -> list[str]:
    return [part for part in (value or "").replace(",", " ").split() if part]


def _key_specs(value: str | None) -> list[str]:
    """Keys separated by commas or spaces; a piece that is not a key (``write:sessions``)
    continues the previous key's scopes (``tr_dev_sk_…=read:sessions,write:sessions``)."""
    specs: list[str] = []
    for part in _env_list(value):
        if specs and not part.startswith(KEY_PREFIX):
            specs[-1] += "," + part
        else:
            specs.append(part)
    return specs


def add_arguments(serve: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    def env(name: str, default: str | None = None) -> str | None:
        return environ.get(ENV_PREFIX + name, default)

    serve.add_argument("--host", default=env("HOST", "127.0.0.1"), help="default 127.0.0.1")
    serve.add_argument("--port", type=int, default=env("PORT", "8080"), help="default 8080")
    serve.add_argument(
        "--secret-key",
        action="append",
        dest="secret_keys",
        default=None,
        metavar="KEY[=SCOPES]",
        help="accept only this secret key (repeatable; TRIGGER_MOCK_SECRET_KEY takes a "
        "comma-separated list). Default: any tr_dev_/tr_stg_/tr_prod_/tr_preview_ key, "
        "each its own environment. KEY=SCOPE,SCOPE declares a restricted key "
        "(tr_dev_sk_ + 24 letters/digits) that acts only within those scopes, in the "
        "environment of the root key of its kind.",
    )
    serve.add_argument(
        "--fidelity",
        choices=[f.value for f in Fidelity],
        default=env("FIDELITY", Fidelity.DOCUMENTED.value),
        help="follow the published docs (default) or the deployed server where they differ",
    )
    serve.add_argument(
        "--seed", type=int, default=env("SEED"), help="make generated ids deterministic"
    )
    serve.add_argument(
        "--admin-token", default=env("ADMIN_TOKEN"), help="require this bearer token on /_mock/"
    )
    serve.add_argument("--log-level", choices=LOG_LEVELS, default=env("LOG_LEVEL", "info"))
    serve.add_argument(
        "--agent",
        default=env("AGENT", "off"),
        metavar="off|echo|PATH",
        help="answer each chat message appended to a session's .in with a streamed .out "
        "turn: `echo` repeats the user's text; a YAML/JSON file gives scripted replies",
    )
    serve.add_argument(
        "--seed-file",
        default=env("SEED_FILE"),
        metavar="PATH",
        help="start with the sessions and channel records in this YAML or JSON file "
        "(checked against openapi.yaml; a full /_mock/reset returns to it)",
    )
    serve.add_argument(
        "--state-file",
        default=env("STATE_FILE"),
        metavar="PATH",
        help="keep sessions and channel records in this JSON file across restarts "
        "(written atomically after changes and at stop); default: memory only",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        default=env("FORWARDED_ALLOW_IPS", ",".join(DEFAULT_TRUSTED)),
        metavar="IPS",
        help="peers (addresses, networks such as 10.0.0.0/8, or *) whose Forwarded and "
        "X-Forwarded-Proto/Host/Port headers say where clients reached the fake, for the "
        f"URLs it hands out (default {','.join(DEFAULT_TRUSTED)})",
    )
    # The S2 endpoint's HTTP/2 once had a port of its own; it is served on --port now.
    serve.add_argument("--s2-port", default=env("S2_PORT"), help=argparse.SUPPRESS)
    serve.add_argument(
        "--agent-delay-ms",
        type=int,
        default=env("AGENT_DELAY_MS", "20"),
        help="pause between the agent's chunks (default 20)",
    )
    serve.add_argument(
        "--faults",
        default=env("FAULTS"),
        metavar="FILE",
        help="fault rules (a YAML or JSON list, as POST /_mock/faults takes them) in force "
        "from the start; a full /_mock/reset restores them",
    )
    serve.add_argument(
        "--rate-limit",
        default=env("RATE_LIMIT", "off"),
        metavar="off|deployed|N/SECONDS",
        help="limit /api/* as the real API does (`deployed`: 750 per environment, refilled "
        "250 every 10 s; 60 a minute per public token) or with a bucket of N per SECONDS "
        "(default off)",
    )
    serve.add_argument(
        "--validate-responses",
        action=argparse.BooleanOptionalAction,
        default=env("VALIDATE_RESPONSES", "false") in ("1", "true", "yes"),
        help="check every response against openapi.yaml (a 500 if one does not conform)",
    )
    serve.add_argument(
        "--ui",
        action=argparse.BooleanOptionalAction,
        default=env("UI", "true") not in ("0", "false", "no"),
        help="serve the dashboard at /_mock/ui (default on; --no-ui turns it off)",
    )
    add_limit_arguments(serve, environ, ENV_PREFIX)


def settings_from(
    parser: argparse.ArgumentParser, args: argparse.Namespace, environ: Mapping[str, str]
) -> Settings:
    # argparse does not check defaults (here: values from the environment) against choices.
    for dest, choices in (("fidelity", [f.value for f in Fidelity]), ("log_level", LOG_LEVELS)):
        value = getattr(args, dest)
        if value not in choices:
            parser.error(f"{ENV_PREFIX}{dest.upper()}={value!r}: choose from {', '.join(choices)}")
    if args.agent not in ("off", "echo") and not os.path.isfile(args.agent):
        parser.error(f"--agent {args.agent!r}: use off, echo, or the path of a reply script")
    try:
        LimitPolicy.parse(args.rate_limit)
    except ValueError as exc:
        parser.error(f"--rate-limit {args.rate_limit!r}: {exc}")
    if args.faults and not os.path.isfile(args.faults):
        parser.error(f"--faults {args.faults!r}: no such file")
    if args.s2_port is not None:
        print(
            "trigger-mock: --s2-port (TRIGGER_MOCK_S2_PORT) is ignored: the S2 endpoint, "
            "HTTP/2 included, is served on --port",
            file=sys.stderr,
        )
    trusted = tuple(_env_list(args.forwarded_allow_ips))
    try:
        TrustedProxies.parse(trusted)
    except ValueError as exc:
        parser.error(f"--forwarded-allow-ips: {exc}")
    keys = args.secret_keys or _key_specs(environ.get(ENV_PREFIX + "SECRET_KEY"))
    for spec in keys:
        try:
            parse_key_spec(spec)
        except ValueError as exc:
            parser.error(f"--secret-key: {exc}")
    return Settings(
        host=args.host,
        port=args.port,
        secret_keys=tuple(keys),
        fidelity=Fidelity(args.fidelity),
        seed=None if args.seed is None else int(args.seed),
        admin_token=args.admin_token or None,
        log_level=args.log_level,
        validate_responses=args.validate_responses,
        ui=args.ui,
        agent=args.agent,
        agent_delay_ms=int(args.agent_delay_ms),
        forwarded_allow_ips=trusted,
        state_file=args.state_file or None,
        seed_file=args.seed_file or None,
        faults_file=args.faults or None,
        rate_limit=args.rate_limit,
        limits=limits_from(parser, args),
    )


def _after_shutdown(signum: int, frame: FrameType | None) -> None:
    """What SIGINT/SIGTERM do once uvicorn has shut down: nothing, so the process
    exits with status 0 (uvicorn re-raises the signal it caught)."""


def serve(settings: Settings) -> int:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Connexion warns on every call of an operation with several request content types.
    logging.getLogger("connexion.operations.openapi3").setLevel(logging.ERROR)
    # The imports make some 100,000 objects that live as long as the process, and little
    # garbage (about 2,000 objects): collecting while they were made, and again before
    # serving (run_servers), walked all of them several times, some 80 ms of the cold
    # start. So no collection until they are made, then they are frozen out of the
    # collector's reach, that little garbage with them.
    gc.disable()
    try:
        from ..app import create_app
        from .connection_bounds import OncePerSecondFilter, raise_open_file_limit
        from .handover import Http2Handover
        from .memory import fix_large_allocations
        from .protocol import protocol_class
        from .run import event_loop_factory, run_servers
    finally:
        gc.freeze()
        gc.enable()

    fix_large_allocations()
    try:
        mock = create_app(settings)
    except ValueError as exc:  # StateFileError included
        print(f"trigger-mock: {exc}", file=sys.stderr)
        return 2
    keys = (
        "any tr_* secret key"
        if mock.state.environments.is_open
        else (f"{len(settings.secret_keys)} secret key(s)")
    )
    logger.info(
        "trigger-mock %s serving %s - %d operations bound (%s) + /_mock/ control plane - "
        "fidelity %s - %s%s",
        __version__,
        settings.base_url,
        len(mock.operation_ids),
        ", ".join(mock.operation_ids),
        settings.fidelity.value,
        keys,
        f" - seed {settings.seed}" if settings.seed is not None else "",
    )
    rules = len(mock.state.faults.rules())
    if rules or settings.rate_limit != "off":
        logger.info(
            "failure on demand: %d fault rule(s) from %s - rate limit %s",
            rules,
            settings.faults_file or "no file",
            settings.rate_limit,
        )
    raise_open_file_limit(mock.state.limits.max_connections)
    # uvicorn warns about each request it cannot parse; a flood must not flood the log.
    logging.getLogger("uvicorn.error").addFilter(
        OncePerSecondFilter("Invalid HTTP request received.")
    )
    config = uvicorn.Config(
        mock.asgi,  # the edge itself: MockApp's own call would be one more frame per request
        http=protocol_class(
            mock.state.limits, mock.state.bounds, Http2Handover(mock.asgi, mock.state.limits)
        ),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=3,  # open SSE streams would hold a shutdown for minutes
        lifespan="on",
        proxy_headers=False,  # forwarding headers: mock_server.http.forwarded, for every URL
    )
    for handled in (signal.SIGINT, signal.SIGTERM):
        signal.signal(handled, _after_shutdown)
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(run_servers(mock, config, settings))
    logger.info("trigger-mock stopped")
    return 0
