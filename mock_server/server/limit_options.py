"""``serve``'s options for the fake's bounds (:class:`~mock_server.core.limits.Limits`),
each with its ``TRIGGER_MOCK_*`` twin."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Final, NamedTuple

from ..core.limits import Limits, parse_size


class LimitOption(NamedTuple):
    flag: str
    field: str
    parse: Callable[[str], int | float]
    help: str


OPTIONS: Final = (
    LimitOption(
        "--max-record-bytes",
        "max_record_bytes",
        parse_size,
        "channel records kept, over all streams (default 256MiB; takes KiB/MiB/GiB); past "
        "it the oldest records go first, as a retention trim would",
    ),
    LimitOption(
        "--max-sessions",
        "max_sessions",
        int,
        "stored sessions, over all environments (default 1000000); a create beyond it is "
        "answered 507",
    ),
    LimitOption(
        "--max-snapshot-bytes",
        "max_snapshot_bytes",
        parse_size,
        "chat snapshots kept, over all sessions (default 256MiB); an upload beyond it is "
        "answered 507",
    ),
    LimitOption(
        "--max-environments",
        "max_environments",
        int,
        "environments made by the first use of a new key (default 10000); a new key "
        "beyond it is answered 507",
    ),
    LimitOption(
        "--max-sse-readers",
        "max_sse_readers",
        int,
        "live SSE readers, over all channels (default 1000); one more is answered 503",
    ),
    LimitOption(
        "--max-connections",
        "max_connections",
        int,
        "open client connections (default 2000); one more is closed as it opens",
    ),
    LimitOption(
        "--header-timeout",
        "header_timeout",
        float,
        "seconds a connection has to send a request's headers (default 10); then it is "
        "answered 408 and closed",
    ),
    LimitOption(
        "--keep-alive-timeout",
        "keep_alive_timeout",
        float,
        "seconds an idle connection stays open between requests (default 5)",
    ),
)


def env_name(option: LimitOption) -> str:
    return option.flag.removeprefix("--").replace("-", "_").upper()


def add_limit_arguments(
    serve: argparse.ArgumentParser, environ: Mapping[str, str], prefix: str
) -> None:
    group = serve.add_argument_group("bounds (docs/reliability.md)")
    for option in OPTIONS:
        group.add_argument(
            option.flag,
            dest=option.field,
            default=environ.get(prefix + env_name(option)),
            metavar="N",
            help=option.help,
        )


def limits_from(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Limits:
    """The bounds the options (or their variables) give; a bad one stops with its name."""
    values: dict[str, int | float] = {}
    for option in OPTIONS:
        raw = getattr(args, option.field)
        if raw is None:
            continue
        try:
            values[option.field] = option.parse(str(raw))
            Limits().changed(**values)
        except ValueError as exc:
            parser.error(f"{option.flag} {raw!r}: {exc}")
    return Limits(**values)  # type: ignore[arg-type]
