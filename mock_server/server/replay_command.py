"""``trigger-mock replay``: a recording's requests sent to another target, and where its
answers differ.

    trigger-mock replay CASSETTE [--base-url URL] [--key PLACEHOLDER=REAL ...]
                        [--fidelity documented|deployed] [--agent off|echo|PATH]
                        [--secret-key KEY=SCOPES ...] [--end-state SEED] [--grace SECONDS]

Without ``--base-url`` it starts ``trigger-mock serve`` on a free port (no
``TRIGGER_MOCK_*`` variable reaches it), seeded with the state the recording started
from, with the ``--agent`` and ``--secret-key`` options given, and stops it afterwards.
Exit status: 0 with no differences, 1 with differences, 2 for a cassette that cannot be
replayed or a fake that would not start.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

# httpx, yaml and the replay itself are imported when the command runs: every command's
# options are declared in one parser, and `serve` must not pay for this one's imports.

START_TIMEOUT_SECONDS = 30.0


def add_arguments(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    parser.add_argument("cassette", type=Path, help="a recording's cassette.yaml")
    parser.add_argument(
        "--base-url",
        default=None,
        help="the target (default: a fake this command starts, seeded with the recording's "
        "start state)",
    )
    parser.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="PLACEHOLDER=REAL",
        help="use REAL where the recording has the placeholder key PLACEHOLDER (repeatable; "
        "default: the placeholder itself, which a fake accepts)",
    )
    parser.add_argument(
        "--fidelity",
        choices=("documented", "deployed"),
        default=environ.get("TRIGGER_MOCK_FIDELITY", "documented"),
        help="mode of the fake started when there is no URL",
    )
    parser.add_argument(
        "--agent",
        default="off",
        metavar="off|echo|PATH",
        help="what answers chat messages on the target: --agent of the fake started when there "
        "is no URL (as the recorded upstream had); with --base-url, what that target runs. "
        "Replay leaves the replies to sessions' chat messages to it",
    )
    parser.add_argument(
        "--secret-key",
        action="append",
        default=[],
        metavar="KEY=SCOPES",
        help="--secret-key of the fake started when there is no URL (repeatable): a "
        "restricted key placeholder with the scopes the recording could not show",
    )
    parser.add_argument(
        "--end-state",
        type=Path,
        default=None,
        metavar="SEED",
        help="the state to find on a fake target afterwards (default: seed.yaml beside the "
        "cassette, if there is one)",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="how much longer than recorded an event stream is read (default 2)",
    )


def parse_keys(specs: list[str]) -> dict[str, str]:
    keys = {}
    for spec in specs:
        placeholder, sep, real = spec.partition("=")
        if not sep or not placeholder or not real:
            raise ValueError(f"--key {spec!r}: expected PLACEHOLDER=REAL")
        keys[placeholder] = real
    return keys


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def started_fake(args: argparse.Namespace, start: dict[str, object] | None) -> Iterator[str]:
    """A fake of our own, serving the recording's start state; its URL."""
    import yaml

    port = _free_port()
    command = [sys.executable, "-m", "mock_server", "serve", "--port", str(port)]
    command += ["--log-level", "warning", "--fidelity", args.fidelity]
    command += ["--agent", args.agent]
    for spec in args.secret_key:
        command += ["--secret-key", spec]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIGGER_MOCK_")}
    with tempfile.TemporaryDirectory(prefix="trigger-mock-replay-") as scratch:
        if start is not None:
            seed = Path(scratch) / "start.yaml"
            seed.write_text(yaml.safe_dump(start, sort_keys=False), encoding="utf-8")
            command += ["--seed-file", str(seed)]
        log = Path(scratch) / "serve.log"
        with log.open("w", encoding="utf-8") as output:
            process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(process, url, log)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the fake did not start:\n{log.read_text(encoding='utf-8')}")
        try:
            if httpx.get(url + "/_mock/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the fake did not answer on {url}")


def run(args: argparse.Namespace) -> int:
    from ..proxy.cassette import Cassette, CassetteError
    from ..proxy.replay import replay

    try:
        keys = parse_keys(args.key)
        cassette = Cassette.read(args.cassette)
    except (ValueError, CassetteError) as exc:
        print(f"trigger-mock replay: {exc}", file=sys.stderr)
        return 2
    end_state = args.end_state or args.cassette.parent / "seed.yaml"

    def against(url: str) -> int:
        report = asyncio.run(
            replay(
                cassette, url, keys=keys, end_state=end_state, grace_seconds=args.grace,
                agent=args.agent != "off",
            )
        )  # fmt: skip
        for line in report.lines():
            print(line)
        return 1 if report.differences else 0

    try:
        if args.base_url:
            if cassette.start is not None:
                print(
                    "note: the recording used sessions it did not create; the target must "
                    "hold them (a fake: --seed-file with the recording's start.yaml)"
                )
            return against(args.base_url)
        with started_fake(args, cassette.start) as url:
            return against(url)
    except CassetteError as exc:
        print(f"trigger-mock replay: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"trigger-mock replay: {exc}", file=sys.stderr)
        return 2
