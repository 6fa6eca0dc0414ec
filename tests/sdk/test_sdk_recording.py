"""The official SDK's tests recorded through ``trigger-mock proxy --record`` in front of the
echo fake (documented mode), every test file included:

1. a fake started with the recording's ``seed.yaml`` holds what the recorded fake holds:
   the same sessions, and the same channel records on every channel a recorded read
   showed; on the others, the records the recorded requests wrote (what came after them,
   the echo agent's reply to a waitpoint's message, no exchange showed);
2. ``trigger-mock replay cassette.yaml`` against a fake it starts with the same
   ``--agent`` and restricted key reports no difference, final state included. The
   cassette holds what makes that hard: fault rules set and fired, a stream a fault cut,
   the rate limiter's ``429``, the clock moved, and records the SDK's ``.out`` writer put
   in through S2, past the proxy, which replay writes back through the control plane.

The recording maps each secret to a placeholder; the comparison maps back through the
cassette's ``trigger_mock`` block (``environments``: recorded environment id → placeholder
key; ``placeholders.jwt``: each token placeholder's claims).
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import orjson
import pytest
import yaml

from mock_server.auth.environments import RESTRICTED_KEY_PATTERN
from mock_server.proxy.cassette import Cassette
from mock_server.proxy.redaction import JWT_SHAPE, jwt_claims
from mock_server.testing import MockProxy, MockServer

from .test_official_sdk import RESTRICTED_SCOPES, echo_fake_for, run_sdk_tests
from .test_sdk_through_proxy import Passage, assert_passed_unchanged

pytestmark = pytest.mark.subprocess

FIELDS = ("id", "externalId", "type", "status", "closedReason", "currentRunId", "tags", "metadata")
READ = re.compile(r"^/(?:realtime/v1|_mock)/sessions/(?P<ref>[^/]+)/(?P<io>in|out)(?:/records)?$")

Record = tuple[int, list[list[str]], str]


@dataclass
class Recording:
    fake: MockServer
    """The recorded upstream, still running."""
    directory: Path
    cassette: Cassette
    placeholder_of: dict[str, str]
    """Recorded environment id → its placeholder key."""
    restricted: str
    """The restricted key's placeholder."""
    passage: Passage
    """What the recording proxy saw, read before it stopped."""


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recording]:
    directory = tmp_path_factory.mktemp("sdk") / "rec"
    with echo_fake_for("documented") as fake:
        recorder = MockProxy(fake.base_url, "--record", str(directory), "--expect", "documented")
        with recorder as proxy:
            run_sdk_tests(proxy.base_url)
            passage = Passage.read(fake, proxy)
            assert proxy.stop(signal.SIGINT) == 0  # the recording is written as it stops
        cassette = Cassette.read(directory / "cassette.yaml")
        (restricted,) = [
            k for k in cassette.meta["placeholders"]["keys"] if RESTRICTED_KEY_PATTERN.match(k)
        ]
        yield Recording(fake, directory, cassette, cassette.environments, restricted, passage)


def sessions(server: MockServer, environment: str) -> list[dict[str, Any]]:
    status, listed = server.call("GET", f"/_mock/sessions?environment={quote(environment)}")
    assert status == 200
    return [row for env in listed["environments"] for row in env["sessions"]]


def records(server: MockServer, environment: str, session_id: str, io: str) -> list[Record]:
    path = f"/_mock/sessions/{quote(session_id)}/{io}/records?environment={quote(environment)}"
    status, found = server.call("GET", path)
    assert status == 200, found
    return [(r["seqNum"], r["headers"], r["body"]) for r in found["records"]]


def redacted(items: list[Record], claims: dict[str, dict[str, Any]]) -> list[Record]:
    """Records with each token in a header replaced by the placeholder of its claims."""
    by_claims = {orjson.dumps(c, option=orjson.OPT_SORT_KEYS): p for p, c in claims.items()}

    def placeholder(value: str) -> str:
        if not JWT_SHAPE.fullmatch(value):
            return value
        return by_claims[orjson.dumps(jwt_claims(value), option=orjson.OPT_SORT_KEYS)]

    return [(s, [[k, placeholder(v)] for k, v in headers], body) for s, headers, body in items]


def read_channels(cassette: Cassette, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(session id, io) of every channel a recorded read showed (an SSE read, a ``records``
    read, the control plane's)."""
    ids = {ref: row["id"] for row in rows for ref in (row["id"], row["externalId"]) if ref}
    found = set()
    for i in cassette.interactions:
        matched = READ.match(i.path)
        if matched and i.method == "GET" and i.status == 200:
            ref = unquote(matched["ref"])
            found.add((ids.get(ref, ref), matched["io"]))
    return found


def without_part_ids(items: list[Record], minted: set[int]) -> list[Record]:
    """The records with the part id left out at ``minted``: parts whose id the upstream
    minted and no read showed, which the seed writes as ``{data}`` (docs/proxy.md)."""
    return [
        (s, h, orjson.dumps(orjson.loads(b)["data"]).decode() if s in minted else b)
        for s, h, b in items
    ]


def test_the_recording_proxy_breaks_no_rule_and_changes_no_byte(recording: Recording) -> None:
    """The documented mode's run of ``test_sdk_through_proxy.py``, on this run."""
    assert_passed_unchanged(recording.passage)


def test_the_cassette_holds_what_replay_must_reproduce(recording: Recording) -> None:
    items = recording.cassette.interactions
    paths = {(i.method, i.path) for i in items}
    assert ("POST", "/_mock/faults") in paths and ("POST", "/_mock/clock") in paths
    assert any(i.response_header("x-trigger-mock-fault") for i in items)
    assert any(i.status == 429 and i.response_header("x-ratelimit-reset") for i in items)
    assert any(i.cut and i.is_event_stream for i in items), "the faults test's cut stream"
    inits = [i for i in items if i.method == "PUT" and i.response_header("x-s2-endpoint")]
    assert inits, "the .out writer's initialize: its records go to S2, past the proxy"


def same_records(
    recording: Recording,
    seeded: MockServer,
    env_id: str,
    row: dict[str, Any],
    io: str,
    *,
    seed_entry: dict[str, Any],
    read: bool,
) -> None:
    """The seeded fake's records on one channel against the recorded fake's."""
    key = recording.placeholder_of[env_id]
    before = redacted(records(recording.fake, env_id, row["id"], io), recording.cassette.claims)
    now = records(seeded, key, row["id"], io)
    seeded_as = (seed_entry.get("channels") or {}).get(io) or []
    minted = {n for n, record in enumerate(seeded_as) if "data" in record}
    before, now = without_part_ids(before, minted), without_part_ids(now, minted)
    where = (key, row["externalId"], io)
    if read:
        assert now == before, where
        return
    # Never read: the records recorded requests wrote, and after them what no exchange
    # showed (here the echo agent's reply to a waitpoint's message).
    assert now == before[: len(now)], where
    assert all(["trigger-control", "turn-complete"] in h for _, h, _ in before[len(now) :])


def test_the_seed_file_gives_a_fake_holding_the_recorded_state(recording: Recording) -> None:
    seed = yaml.safe_load((recording.directory / "seed.yaml").read_text())
    _, listed = recording.fake.call("GET", "/_mock/sessions")
    envs = {env["id"]: env["sessions"] for env in listed["environments"]}
    assert {recording.placeholder_of[env_id] for env_id in envs} == set(seed["environments"])
    restricted = f"{recording.restricted}={RESTRICTED_SCOPES}"
    seed_file = str(recording.directory / "seed.yaml")
    with MockServer("--seed-file", seed_file, "--secret-key", restricted) as seeded:
        for env_id, recorded_rows in envs.items():
            key = recording.placeholder_of[env_id]
            rows = {r["id"]: {f: r[f] for f in FIELDS} for r in sessions(seeded, key)}
            assert rows == {r["id"]: {f: r[f] for f in FIELDS} for r in recorded_rows}, key
            entries = {e["id"]: e for e in seed["environments"][key]["sessions"]}
            read = read_channels(recording.cassette, recorded_rows)
            for row in recorded_rows:
                for io in ("in", "out"):
                    same_records(
                        recording, seeded, env_id, row, io,
                        seed_entry=entries[row["id"]], read=(row["id"], io) in read,
                    )  # fmt: skip


def test_the_cassette_replays_against_a_fake_with_no_difference(recording: Recording) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable, "-m", "mock_server", "replay",
            str(recording.directory / "cassette.yaml"),
            "--agent", "echo",
            # The recorded fake declared the restricted key with its scopes at start, which
            # no exchange shows; replay's fake needs the same declaration.
            "--secret-key", f"{recording.restricted}={RESTRICTED_SCOPES}",
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    total = len(recording.cassette.interactions)
    assert f"replayed {total} of {total} interactions" in out, out
    assert "0 difference(s), 0 skipped" in out, out
    assert "through the control plane that the recording saw" in out, out
    assert time.monotonic() - started < 120
