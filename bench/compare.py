"""Two versions of trigger-mock under the same HTTP/1.1 load, interleaved: is a change
free on the hot path?

    git worktree add /tmp/before <commit>
    python bench/compare.py /tmp/before . [--rounds 3] [--seconds 8]

Each round starts each tree's ``serve`` in turn (with that tree's code: ``python -m
mock_server`` from its directory) and runs wrk's create and retrieve scenarios against it,
as ``bench/run.py`` does. Rounds alternate the trees, so drift in the machine falls on
both; the medians are printed, and each round's figures, which show the noise.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from load import Load, measured
from processes import CREATE_BODY, SECRET_KEY

from mock_server.testing import ServedProcess, free_port

FIGURES = ("create", "create p99 ms", "retrieve", "retrieve p99 ms")


def one_round(tree: Path, load: Load) -> dict[str, float]:
    port = free_port()
    command = [sys.executable, "-m", "mock_server", "serve", "--port", str(port)]
    command += ["--log-level", "warning"]
    with ServedProcess(command, port, cwd=tree, ready_path="/_mock/health") as server:
        url = server.base_url
        create, _ = measured(url, "create", load, ("made",), ("warm",))
        body = json.dumps({**CREATE_BODY, "externalId": "stored-0"}).encode()
        headers = {"Authorization": f"Bearer {SECRET_KEY}", "Content-Type": "application/json"}
        request = urllib.request.Request(url + "/api/v1/sessions", body, headers, method="POST")
        urllib.request.urlopen(request, timeout=10).close()
        retrieve, _ = measured(url, "retrieve", load, ("stored-0",), ("stored-0",))
    return {
        "create": create.req_per_s,
        "create p99 ms": create.p99_ms,
        "retrieve": retrieve.req_per_s,
        "retrieve p99 ms": retrieve.p99_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    load = Load(seconds=args.seconds, warmup_seconds=2.0)
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    figures: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for number in range(args.rounds):
        for name, tree in trees.items():
            measured_now = one_round(tree, load)
            figures[name].append(measured_now)
            print(f"round {number + 1} {name}: {measured_now}", flush=True)
    print(f"{'median':<8}" + "".join(f"{figure:>18}" for figure in FIGURES))
    for name, rounds in figures.items():
        medians = [statistics.median(r[figure] for r in rounds) for figure in FIGURES]
        print(f"{name:<8}" + "".join(f"{value:>18.1f}" for value in medians))


if __name__ == "__main__":
    main()
