"""The soak run: every kind of request at once, for a while, against a served fake that is
killed midway and stopped at the end, then held to what it acknowledged.

    python bench/soak.py [--duration 600] [--max-record-bytes 32MiB] [--seed 1] [--json PATH]

On loopback, in a temporary directory it removes, it serves ``trigger-mock serve`` with a
state file, small caps and a small record budget, and runs a few dozen workers: session
creates (fresh ones paced, so the session cap is reached about 60% of the way), lists,
retrieves, updates, closes, tokens, end-and-continue; appends to ``.in``, ``.out`` and side
channels over the API and S2-style; SSE readers that follow, stall or hang up mid-stream;
a reader-cap probe; keys nobody used before (the environment cap); hostile requests
(malformed or oversized bodies, bad keys, half-sent headers); and fault rules, in force
from the start (``--faults``) and one request at a time.

Midway the server is ``kill -9``-ed and started again on the same state file; what was
acknowledged longer ago than the state file's write interval (measured) must be there.
At the end it is stopped with SIGTERM and started once more; every acknowledged write must
be there, save channel records the record budget dropped (oldest first). Throughout: no
5xx but injected faults' and bounds' answers, no connection error outside the kill window
or an injected drop, and an RSS that levels off under a stated bound. Prints a JSON summary
and a line; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import soak_faults as faults_
import soak_hostile as hostile
import soak_load as load
import soak_readers as readers
from soak_checks import (
    NEVER,
    Verdict,
    check_session,
    check_stream,
    kill_window,
    save_gaps,
)
from soak_report import Report, human_line, summary
from soak_server import POLL, Monitor, Served, gathered, read_sessions, read_stream, rss_mib
from soak_traffic import Bucket, Traffic

from mock_server.channels.streams import BATCH_MAX_BYTES
from mock_server.http.journal import BODY_BUDGET

MIB = 1 << 20
KEYS = [f"tr_dev_soak{n}{'0' * 16}" for n in range(4)]
FAULT_KEY = "tr_dev_soakfaults000000000"
SAVE_INTERVAL = 0.5
"""docs/running.md: the state file is written at most twice a second."""


def parse_size(text: str) -> int:
    units = {"": 1, "k": 1 << 10, "m": MIB, "g": 1 << 30}
    digits = text.rstrip("BbIiKkMmGg")
    return int(digits) * units[text[len(digits) : len(digits) + 1].lower()]


def options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--duration", type=float, default=600, help="seconds of traffic (default 600)")
    add("--max-record-bytes", default="32MiB", help="the server's record budget (32MiB)")
    add("--seed", type=int, default=1, help="seeds the traffic, the ids and the fault rules")
    add("--json", type=Path, help="also write the summary here")
    add("--session-workers", type=int, default=8)
    add("--writers", type=int, default=5, help="API appenders (and 2 S2 appenders)")
    add("--write-rate", type=float, help="MiB/s appended (default: 4 budgets per run, ≥1)")
    add("--create-rate", type=float, default=4.0, help="fresh sessions per second")
    add("--max-sessions", type=int, help="default: reached about 60%% of the way")
    add("--max-environments", type=int, default=24)
    add("--max-sse-readers", type=int, default=24)
    add("--header-timeout", type=float, default=2.0)
    add("--rss-slack", type=float, help="MiB allowed over baseline + budget (default: below)")
    add("--keep", action="store_true", help="keep the temporary directory")
    add("--serve-arg", action="append", default=[], help="another `serve` argument")
    return parser.parse_args(argv)


def slack_parts(args: argparse.Namespace) -> dict[str, float]:
    """What the server may hold beyond its baseline and its record budget, in MiB: the
    request journal's bodies (bounded on their own), one SSE batch in flight per reader
    the cap admits (a stalled reader's socket holds it), and the allocator's own slack
    (arenas a restart's load of the state file leaves behind, free lists; a restarted
    server settled about 16 MiB above the first one in our runs)."""
    return {
        "journalBodies": BODY_BUDGET / MIB,
        "readerBatches": args.max_sse_readers * BATCH_MAX_BYTES / MIB,
        "allocator": 24.0,
    }


async def soak(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    budget = parse_size(args.max_record_bytes)
    rate = args.write_rate or max(1.0, 4 * budget / MIB / args.duration)
    setup_sessions = args.session_workers * 3 + 2
    cap = args.max_sessions or int(
        setup_sessions + args.max_environments + 0.6 * args.duration * args.create_rate
    )
    faults = workdir / "faults.json"
    faults.write_text(faults_.dumps(faults_.faults_file(args.seed)))
    served = Served(workdir, [
        "--log-level", "warning", "--no-ui", "--seed", str(args.seed),
        "--faults", str(faults), "--max-record-bytes", str(budget),
        "--max-sessions", str(cap), "--max-environments", str(args.max_environments),
        "--max-sse-readers", str(args.max_sse_readers),
        "--header-timeout", str(args.header_timeout), "--keep-alive-timeout", "5",
        *args.serve_arg,
    ])  # fmt: skip
    report = Report(args=vars(args) | {"json": str(args.json)}, budget=budget, cap=cap)
    report.own_keys = len(KEYS) + 1
    report.slack_parts = slack_parts(args)
    report.slack = args.rss_slack or sum(report.slack_parts.values())
    report.starts.append(await asyncio.to_thread(served.start))
    monitor = Monitor(served)
    monitor.start()
    t = Traffic(served.base_url, args.seed)
    t.up.set()
    try:
        await run(t, served, monitor, report, args, rate, cap)
    finally:
        monitor.halt.set()
        await t.client.aclose()
        if served.live_pid() is not None:
            served.stop()
    report.rss_samples = monitor.rss
    report.logs = served.logs
    return summary(report, t)


async def run(
    t: Traffic, served: Served, monitor: Monitor, report: Report, args: Any, rate: float, cap: int
) -> None:
    creates, closes = Bucket(args.create_rate, 5), Bucket(args.create_rate / 4, 2)
    written = Bucket(rate * MIB, MIB)
    for owner in range(args.session_workers):
        for _ in range(3):
            await load.create(t, owner, KEYS[owner % len(KEYS)], fresh=True)
    pid = served.live_pid()
    report.baseline = (rss_mib(pid) if pid else None) or 0.0
    workers = [
        *(
            load.session_worker(t, n, KEYS[n % len(KEYS)], creates, closes)
            for n in range(args.session_workers)
        ),
        *(load.writer(t, written, s2=False) for _ in range(args.writers)),
        *(load.writer(t, written, s2=True) for _ in range(2)),
        *(readers.follower(t) for _ in range(3)),
        *(readers.staller(t, served.port) for _ in range(2)),
        readers.reader_cap_probe(t, served.port, args.max_sse_readers, every=7),
        hostile.environment_probe(t, every=1.5),
        hostile.hostile(t),
        *(hostile.raw_hostile(t, served.port, args.header_timeout) for _ in range(2)),
        faults_.fault_worker(t, FAULT_KEY),
    ]
    tasks = [asyncio.create_task(worker) for worker in workers]
    watcher = asyncio.create_task(watch_health(t, served, report))
    report.load_start = time.monotonic()
    await asyncio.sleep(args.duration / 2)
    await kill_and_check(t, served, monitor, report)
    await asyncio.sleep(max(0.0, report.load_start + args.duration - time.monotonic()))
    report.load_end = time.monotonic()
    t.stopping.set()
    _, late = await asyncio.wait(tasks, timeout=20)
    for task in late:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            report.crashes.append(repr(task.exception()))
    report.health[served.incarnation] = await health(t)
    watcher.cancel()
    report.stop_exit = await asyncio.to_thread(served.stop)
    report.starts.append(await asyncio.to_thread(served.start))
    report.final = await check_all(t, report, cutoff=NEVER, kill=NEVER)
    report.health_after = await health(t)
    report.final_exit = await asyncio.to_thread(served.stop)


async def health(t: Traffic) -> dict[str, Any]:
    answer = await t.call("control plane", "GET", "/_mock/health", gate=False)
    if isinstance(answer, httpx.Response) and answer.status_code == 200:
        return dict(answer.json())
    return {}


async def watch_health(t: Traffic, served: Served, report: Report) -> None:
    while True:
        await t.up.wait()
        incarnation, asked = served.incarnation, time.monotonic()
        seen = await health(t)
        took = time.monotonic() - asked
        if t.up.is_set() and incarnation == served.incarnation and took > report.slowest[0]:
            report.slowest = (took, asked - report.load_start)
        if seen and incarnation == served.incarnation:
            report.health[incarnation] = seen
            report.most_sessions = max(report.most_sessions, seen.get("sessions", 0))
        await asyncio.sleep(1)


async def kill_and_check(t: Traffic, served: Served, monitor: Monitor, report: Report) -> None:
    report.health[served.incarnation] = await health(t)
    t.up.clear()
    t.epoch += 1
    kill = time.monotonic()
    served.kill()
    report.starts.append(await asyncio.to_thread(served.start))
    restarted = time.monotonic()
    report.kill_windows.append((kill, restarted))
    writes = [at for at, incarnation in monitor.writes if incarnation == 1]
    gaps = save_gaps(writes, report.load_start, kill)
    report.save_gaps = gaps
    report.window = kill_window(gaps, SAVE_INTERVAL, POLL)
    report.kill_at = kill - report.load_start
    report.at_kill = await check_all(t, report, cutoff=kill - report.window, kill=kill)
    report.paused = time.monotonic() - kill
    t.up.set()


async def check_all(t: Traffic, report: Report, *, cutoff: float, kill: float) -> Verdict:
    """Reads everything back and holds it to the books; after a kill, forgets what was
    lost in the window (and what came back older), so the run goes on from what is there."""
    verdict = Verdict()
    keys = sorted({book.key for book in t.books.values()})
    rows = dict(
        zip(keys, await gathered(4, [read_sessions(t.client, key) for key in keys]), strict=True)
    )
    now = time.monotonic()
    lost_sessions = set()
    for (key, external_id), book in list(t.books.items()):
        row = rows[key].get(external_id)
        verdict.merge(check_session(book, row, cutoff, kill))
        if row is None:
            lost_sessions.add((key, external_id))
            del t.books[(key, external_id)]
        elif cutoff < NEVER:
            book.reset(now, row)
    t.sessions = [s for s in t.sessions if (s.key, s.external_id) not in lost_sessions]
    for session in t.sessions:
        row = rows[session.key].get(session.external_id)
        if row is not None:
            session.session_id, session.closed = row["id"], row["closedAt"] is not None
    keys_streams = [k for k, acked in t.streams.items() if acked]
    observed = await gathered(6, [read_stream(t.client, k) for k in keys_streams])
    dropped_at: list[float] = []
    kept_at: list[float] = []
    for where, seen in zip(keys_streams, observed, strict=True):
        acked = t.streams[where]
        stream_verdict, lost = check_stream(where, acked, seen, cutoff, kill)
        verdict.merge(stream_verdict)
        dropped_at += [a.at for seq, a in acked.items() if seq < seen.oldest]
        kept_at += [a.at for seq, a in acked.items() if seen.oldest <= seq < seen.tail]
        for seq in lost:
            del acked[seq]
    report.order_samples.append((dropped_at, kept_at))
    return verdict


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    workdir = Path(tempfile.mkdtemp(prefix="trigger-mock-soak-"))
    try:
        result = asyncio.run(soak(args, workdir))
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n")
    print(human_line(result))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
