"""The teeth check: the contract suite must fail on every mutant of the fake.

    python -m tests.teeth check [NAME ...]        # every mutant (CI runs this)
    python -m tests.teeth serve NAME --port 9000  # one mutant, to poke at

``check`` serves each mutant as a child process, runs ``trigger-mock contract`` against it,
and passes only if the suite failed, in one of the tests named after the broken rule. Only
those tests run (the verdict depends on nothing else): about 8 s a mutant instead of the
whole suite's 70. ``check --full`` runs the whole suite on each, and also says how many
other tests failed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from mock_server.testing import MockServer

from .mutants import MUTANTS, Mutant, build


def serve(name: str, port: int, fidelity: str) -> int:
    import uvicorn

    from mock_server.server.protocol import JsonErrorsHttpToolsProtocol

    mock = build(name, fidelity)
    config = uvicorn.Config(
        mock,
        port=port,
        log_level="warning",
        access_log=False,
        http=JsonErrorsHttpToolsProtocol,
        lifespan="on",
    )
    uvicorn.Server(config).run()
    return 0


@dataclass
class Verdict:
    mutant: Mutant
    failed: set[str]

    @property
    def caught_by(self) -> list[str]:
        return sorted(set(self.mutant.caught_by) & self.failed)

    @property
    def caught(self) -> bool:
        return bool(self.caught_by)


def failed_tests(junit: Path) -> set[str]:
    root = ET.parse(junit).getroot()
    return {
        re.sub(r"\[.*\]$", "", case.get("name", ""))
        for case in root.iter("testcase")
        if case.find("failure") is not None or case.find("error") is not None
    }


def check_one(mutant: Mutant, fidelity: str, examples: int, *, full: bool = False) -> Verdict:
    fidelity = mutant.fidelity or fidelity
    fake = ServedMutant(mutant.name, fidelity)
    try:
        fake.start()
        with tempfile.TemporaryDirectory() as scratch:
            junit = Path(scratch) / "junit.xml"
            command = [
                sys.executable,
                "-m",
                "mock_server",
                "contract",
                "--base-url",
                fake.base_url,
                "--junit-xml",
                str(junit),
                "--examples",
                str(examples),
                "--",
                "-q",
            ]
            if not full:
                command += ["-k", " or ".join(sorted(set(mutant.caught_by)))]
            subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
            return Verdict(mutant, failed_tests(junit))
    finally:
        fake.stop()


class ServedMutant(MockServer):
    """A mutant as a child process (``python -m tests.teeth serve``)."""

    def __init__(self, mutant: str, fidelity: str) -> None:
        self.mutant = mutant
        self.fidelity = fidelity
        super().__init__(env={"PYTHONWARNINGS": "ignore::DeprecationWarning"})

    def serve_command(self, port: int, *args: str) -> list[str]:
        serve = ["serve", self.mutant, "--port", str(port), "--fidelity", self.fidelity]
        return [sys.executable, "-m", "tests.teeth", *serve]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.teeth")
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("serve")
    one.add_argument("name", choices=sorted(MUTANTS))
    one.add_argument("--port", type=int, default=8080)
    one.add_argument("--fidelity", choices=("documented", "deployed"), default="documented")
    many = commands.add_parser("check")
    many.add_argument("names", nargs="*", metavar="NAME", help=", ".join(sorted(MUTANTS)))
    many.add_argument("--fidelity", choices=("documented", "deployed"), default="documented")
    many.add_argument("--examples", type=int, default=10)
    many.add_argument(
        "--full", action="store_true", help="run the whole suite on each mutant, not just its tests"
    )
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args.name, args.port, args.fidelity)
    unknown = set(args.names) - set(MUTANTS)
    if unknown:
        parser.error(f"no such mutant: {', '.join(sorted(unknown))}")
    survivors = 0
    for name in args.names or sorted(MUTANTS):
        verdict = check_one(MUTANTS[name], args.fidelity, args.examples, full=args.full)
        survivors += not verdict.caught
        status = "caught" if verdict.caught else "SURVIVED"
        print(f"{status:<8} {name:<24} {verdict.mutant.breaks}", flush=True)
        for test in verdict.caught_by:
            print(f"{'':<8} {'':<24} by {test}")
        if args.full:
            others = len(verdict.failed) - len(verdict.caught_by)
            print(f"{'':<8} {'':<24} ({others} other tests failed too)", flush=True)
    return 1 if survivors else 0


if __name__ == "__main__":
    raise SystemExit(main())
