"""Recording and replay, piece by piece: redaction never lets a secret reach disk, the
cassette is VCR.py's YAML, the seed file loads and keeps ids, and replay's comparison
names each difference precisely."""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from mock_server.auth.environments import RESTRICTED_KEY_PATTERN, SECRET_KEY_PATTERN
from mock_server.auth.tokens import sign_hs256
from mock_server.control.seeding import Seed, SeedFileError
from mock_server.core.clock import ControllableClock
from mock_server.core.ids import IdSource
from mock_server.core.specs import api_spec_path, load_spec
from mock_server.proxy.cassette import Cassette, CassetteError, Interaction
from mock_server.proxy.comparison import compare_answer
from mock_server.proxy.exchange import Exchange
from mock_server.proxy.idmap import IdMap
from mock_server.proxy.injection import observe
from mock_server.proxy.owners import Owners
from mock_server.proxy.recording import Recorder, seed_documents
from mock_server.proxy.redaction import Redactor
from mock_server.server import replay_command
from mock_server.sessions.requests import NewSession
from mock_server.sessions.store import SessionStore

KEY = "tr_dev_Secret0123456789abcdef"
RESTRICTED = "tr_dev_sk_ABCDEFGHIJKLMNOPQRSTUVWX"
S2_TOKEN = "s2tok-very-secret-0042"
COOKIE = "sid=cookie-secret-77"
SESSION_ID = "session_cmx5uqmco0001rvvs9kd46wrr"
RUN_ID = "run_ilgdd14sst7a1mahrcn3dri2vl"
ENV_ID = "cgb41oi2qf7gc93wnjhvvg58j"


def token(scopes: list[str]) -> str:
    claims = {"sub": ENV_ID, "pub": True, "scopes": scopes, "iat": 1, "exp": 3601}
    return sign_hs256(claims, KEY.encode())


JWT = token(["read:sessions:chat-1"])
SECRETS = (KEY, RESTRICTED, S2_TOKEN, "cookie-secret-77", JWT, JWT.rsplit(".", 1)[1])


def exchange(
    number: int,
    method: str,
    path: str,
    *,
    query: str = "",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    status: int = 200,
    answer: Any = None,
    answer_headers: list[tuple[str, str]] | None = None,
    raw_answer: bytes | None = None,
) -> Exchange:
    made = Exchange(number, 1_800_000_000_000 + number * 10, method, path, query, headers or [])
    made.request_body.add(body)
    made.status = status
    made.response_headers = answer_headers or [("content-type", "application/json")]
    made.response_body.add(raw_answer if raw_answer is not None else orjson.dumps(answer))
    made.latency_ms = 5
    return made


def row(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": SESSION_ID,
        "externalId": "chat-1",
        "type": "chat.agent",
        "taskIdentifier": "my-chat",
        "triggerConfig": {"basePayload": {"chatId": "chat-1"}},
        "currentRunId": RUN_ID,
        "tags": [],
        "metadata": None,
        "closedAt": None,
        "closedReason": None,
        "expiresAt": None,
        "createdAt": "2030-01-01T00:00:00.000Z",
        "updatedAt": "2030-01-01T00:00:00.000Z",
    }
    return base | changes


def traffic() -> list[Exchange]:
    bearer = [("authorization", f"Bearer {KEY}"), ("cookie", COOKIE)]
    created = row(runId=RUN_ID, publicAccessToken=JWT, isCached=False)
    init_headers = [("x-s2-access-token", S2_TOKEN), ("content-type", "application/json")]
    sse = (
        b'event: batch\nid: 1,1,10\ndata: {"records":[{"seq_num":0,"timestamp":1,"headers":[],'
        b'"body":"{\\"data\\":\\"hi\\",\\"id\\":\\"p1\\"}"}],"tail":{"seq_num":1,"timestamp":1}}\n\n'
        b"data: [DONE]\n\n"
    )
    return [
        exchange(1, "POST", "/api/v1/sessions", headers=bearer, body=b"{}", status=201,
                 answer=created),
        exchange(
            2, "PUT", "/realtime/v1/sessions/chat-1/out", headers=bearer, status=202,
            answer={"version": "v2", "accessToken": S2_TOKEN}, answer_headers=init_headers,
        ),
        exchange(
            3, "GET", "/realtime/v1/sessions/chat-1/in", query=f"token={JWT}",
            headers=[("authorization", f"Bearer {JWT}")],
            answer_headers=[("content-type", "text/event-stream")], raw_answer=sse,
        ),
        exchange(
            4, "POST", "/s2/v1/streams/x/records",
            headers=[("authorization", f"Bearer {S2_TOKEN}")],
            body=b"\x00\xff" + KEY.encode(), answer={"ok": True},
            answer_headers=[("set-cookie", COOKIE), ("content-type", "application/json")],
        ),
        exchange(
            5, "GET", f"/api/v1/sessions/{SESSION_ID}", headers=bearer,
            answer_headers=[("content-type", "application/json"), ("content-encoding", "gzip")],
            raw_answer=gzip.compress(orjson.dumps(row(metadata={"leak": KEY}))),
        ),
        exchange(
            6, "POST", "/api/v1/auth/jwt/claims",
            headers=[("authorization", f"Bearer {RESTRICTED}")],
            answer={"sub": ENV_ID, "pub": True},
        ),
    ]  # fmt: skip


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    recorder = Recorder(tmp_path, "https://upstream.example/")
    for made in reversed(traffic()):
        recorder.add(made)
    summary = recorder.close()
    assert summary.notes == (
        "restricted key tr_dev_sk_recorded0000000000000001: its scopes are not known; declare "
        "it with --secret-key tr_dev_sk_recorded0000000000000001=SCOPES",
    )
    return tmp_path


# --- redaction --------------------------------------------------------------------------


def test_each_secret_gets_one_placeholder_of_a_shape_the_fake_accepts() -> None:
    redactor = Redactor()
    root = redactor.text(KEY)
    assert SECRET_KEY_PATTERN.match(root) and root == "tr_dev_recorded000000000001"
    restricted = redactor.text(RESTRICTED)
    assert RESTRICTED_KEY_PATTERN.match(restricted)
    assert redactor.text(f"a {KEY} b {KEY}") == f"a {root} b {root}"
    assert (
        redactor.text(JWT)
        == "redacted.jwt.1"
        == redactor.header("authorization", f"Bearer {JWT}")[7:]
    )
    assert redactor.claims["redacted.jwt.1"]["scopes"] == ["read:sessions:chat-1"]
    assert redactor.header("authorization", "Basic dXNlcjpwYXNz") == "redacted-credential-1"
    assert redactor.header("cookie", COOKIE) == "redacted-cookie-1"
    redactor.learn([("x-s2-access-token", S2_TOKEN)], None)
    assert redactor.text(f'{{"t":"{S2_TOKEN}"}}') == '{"t":"redacted-s2-1"}'
    assert redactor.header("authorization", f"Bearer {S2_TOKEN}") == "Bearer redacted-s2-1"


def test_nothing_secret_reaches_disk(recorded: Path) -> None:
    files = sorted(recorded.iterdir())
    assert [f.name for f in files] == ["cassette.yaml", "seed.yaml"]
    for written in files:
        data = written.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in data, (written.name, secret)
        assert b"eyJ" not in data


# --- the cassette -----------------------------------------------------------------------


def test_the_cassette_is_vcr_yaml_with_our_additions(recorded: Path) -> None:
    document = yaml.safe_load((recorded / "cassette.yaml").read_text())
    assert document["version"] == 1
    first = document["interactions"][0]
    assert set(first) == {"request", "response", "trigger_mock"}
    assert set(first["request"]) == {"method", "uri", "body", "headers"}
    assert first["request"]["uri"] == "https://upstream.example/api/v1/sessions"
    assert first["request"]["headers"]["authorization"] == ["Bearer tr_dev_recorded000000000001"]
    assert first["response"]["status"] == {"code": 201, "message": "Created"}
    assert isinstance(first["response"]["body"]["string"], str)
    assert first["trigger_mock"]["offset_ms"] == 0
    binary = document["interactions"][3]["request"]["body"]
    assert isinstance(binary, bytes) and binary.startswith(b"\x00\xff")  # !!binary: base64
    gzipped = document["interactions"][4]["response"]
    assert "content-encoding" not in gzipped["headers"]
    assert "tr_dev_recorded" in gzipped["body"]["string"]  # decoded, then redacted
    ours = document["trigger_mock"]
    assert ours["upstream"] == "https://upstream.example"
    assert ours["environments"] == {ENV_ID: "tr_dev_recorded000000000001"}
    assert ours["placeholders"]["jwt"]["redacted.jwt.1"]["sub"] == ENV_ID


def test_a_file_that_is_not_a_cassette_is_refused_with_a_reason(tmp_path: Path) -> None:
    cases = {
        "x.yaml": "[unclosed",
        "y.yaml": "version: 1\n",
        "z.yaml": "version: 2\ninteractions: []\n",
    }
    reasons = []
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(CassetteError) as caught:
            Cassette.read(tmp_path / name)
        reasons.append(str(caught.value))
    assert "cannot be read" in reasons[0]
    assert "no `interactions` list" in reasons[1]
    assert "version 2, not 1" in reasons[2]


def test_replay_exits_2_on_a_bad_cassette(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("nothing: here\n")
    parser = argparse.ArgumentParser()
    replay_command.add_arguments(parser, {})
    assert replay_command.run(parser.parse_args([str(bad)])) == 2
    err = capsys.readouterr().err
    assert "not a cassette" in err and "Traceback" not in err


# --- the seed file ----------------------------------------------------------------------


def test_the_seed_file_loads_and_keeps_the_session_and_its_records(recorded: Path) -> None:
    loaded = Seed.load(recorded / "seed.yaml", load_spec(api_spec_path()))
    (entry,) = loaded.environments["tr_dev_recorded000000000001"]
    assert entry["id"] == SESSION_ID and entry["currentRunId"] == RUN_ID
    assert entry["metadata"] == {"leak": "tr_dev_recorded000000000001"}  # the last state seen
    assert entry["channels"] == {"in": [{"body": '{"data":"hi","id":"p1"}'}]}


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"id": "session_nope"}, "sessions[0].id: expected session_ and a 25-character cuid"),
        ({"currentRunId": "job_1"}, "sessions[0].currentRunId: expected run_"),
    ],
)
def test_seeded_ids_are_checked(tmp_path: Path, fields: dict[str, str], problem: str) -> None:
    entry = {"type": "t", "taskIdentifier": "x", "triggerConfig": {"basePayload": {}}, **fields}
    seed = tmp_path / "seed.yaml"
    seed.write_text(yaml.safe_dump({"environments": {"tr_dev_a": {"sessions": [entry]}}}))
    with pytest.raises(SeedFileError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        Seed.load(seed, load_spec(api_spec_path()))


def test_a_seeded_id_is_unique_in_its_environment(tmp_path: Path) -> None:
    entry = {
        "type": "t",
        "taskIdentifier": "x",
        "triggerConfig": {"basePayload": {}},
        "id": SESSION_ID,
    }
    seed = tmp_path / "seed.yaml"
    seed.write_text(yaml.safe_dump({"environments": {"tr_dev_a": {"sessions": [entry, entry]}}}))
    with pytest.raises(
        SeedFileError, match=f"sessions\\[1\\].id: {SESSION_ID} is already a session"
    ):
        Seed.load(seed, load_spec(api_spec_path()))


def test_the_store_takes_given_ids_and_mints_later_ones_after_them() -> None:
    clock = ControllableClock()
    store = SessionStore(clock, IdSource(clock, seed=1))
    new = NewSession(type="t", task_identifier="x", trigger_config={"basePayload": {}})
    given = store.create("env", new, session_id=SESSION_ID, run_id=RUN_ID).session
    assert (given.friendly_id, given.current_run_id) == (SESSION_ID, RUN_ID)
    assert store.create("env", new).session.friendly_id > SESSION_ID
    with pytest.raises(ValueError, match="already taken"):
        store.create("env", new, session_id=SESSION_ID)


# --- comparison -------------------------------------------------------------------------


def recorded_answer(
    status: int = 200, answer: Any = None, *, sse: bytes | None = None
) -> Interaction:
    headers = [("content-type", "text/event-stream" if sse is not None else "application/json")]
    body = sse if sse is not None else orjson.dumps(answer)
    return Interaction(1, 0, "GET", "https://u/x", [], b"", status, headers, body)


def batch(*records: tuple[int, str]) -> bytes:
    items = [{"seq_num": s, "timestamp": 5, "headers": [], "body": b} for s, b in records]
    data = orjson.dumps({"records": items, "tail": {"seq_num": 9, "timestamp": 5}})
    return b"event: batch\nid: 1,1,1\ndata: " + data + b"\n\n"


def test_the_same_answer_has_no_difference_whatever_is_new_by_nature() -> None:
    before = recorded_answer(201, row(publicAccessToken="redacted.jwt.1"))
    now = row(
        id="session_cnewnewnewnewnewnewnewnew0",
        currentRunId="run_other",
        createdAt="2031-05-05T10:00:00.000Z",
        publicAccessToken="eyJ.new.token",
    )
    ids = IdMap()
    assert compare_answer(before, 201, [], orjson.dumps(now), ids) == []
    assert (
        ids.apply(f"/api/v1/sessions/{SESSION_ID}")
        == "/api/v1/sessions/session_cnewnewnewnewnewnewnewnew0"
    )
    assert ids.get("redacted.jwt.1") == "eyJ.new.token"


def test_a_changed_status_body_or_id_is_named() -> None:
    ids = IdMap()
    before = recorded_answer(200, row())
    assert compare_answer(before, 404, [], b"{}", ids) == ["status 200 recorded, 404 now"]
    assert compare_answer(before, 200, [], orjson.dumps(row(tags=["new"])), ids) == [
        "body.tags: 0 items recorded, 1 now"
    ]
    assert compare_answer(before, 200, [], orjson.dumps(row(closedReason="x")), ids) == [
        'body.closedReason: null recorded, "x" now'
    ]
    ids = IdMap()
    ids.learn(SESSION_ID, "session_cfirstfirstfirstfirstfirst")
    assert compare_answer(before, 200, [], orjson.dumps(row(id="session_cother")), ids) == [
        f"body.id: {SESSION_ID} stood for session_cfirstfirstfirstfirstfirst, now session_cother"
    ]


def test_event_streams_are_compared_by_their_records() -> None:
    before = recorded_answer(sse=batch((0, "a"), (1, "b")) + b"data: [DONE]\n\n")
    ping = b'event: ping\ndata: {"tail":{"seq_num":0,"timestamp":1},"timestamp":2}\n\n'
    same = ping + batch((0, "a")) + batch((1, "b")) + b"data: [DONE]\n\n"
    assert compare_answer(before, 200, [], same, IdMap()) == []
    changed = batch((0, "a"), (1, "c")) + b"data: [DONE]\n\n"
    assert compare_answer(before, 200, [], changed, IdMap()) == [
        'records[1].body: "b" recorded, "c" now'
    ]
    shorter = batch((0, "a")) + b"data: [DONE]\n\n"
    assert compare_answer(before, 200, [], shorter, IdMap()) == [
        "records: 2 records recorded, 1 now"
    ]


# --- what replay must reproduce --------------------------------------------------------

PLACEHOLDER_KEY = "tr_dev_recorded000000000001"


def interaction(
    n: int, method: str, path: str, answer: Any, *, status: int = 200, body: bytes = b""
) -> Interaction:
    headers = [("authorization", f"Bearer {PLACEHOLDER_KEY}")]
    answer_headers = [("content-type", "application/json")]
    return Interaction(
        n, n * 10, method, f"https://u{path}", headers, body, status, answer_headers,
        orjson.dumps(answer),
    )  # fmt: skip


def writer_cassette() -> Cassette:
    """A session whose ``.out`` the S2 writer filled (0-2) and then trimmed to 2: only the
    ``records`` reads passed the proxy."""
    view = [{"data": {"n": n}, "id": f"p{n}", "seqNum": n, "headers": []} for n in range(3)]
    path = f"/realtime/v1/sessions/{SESSION_ID}/out/records"
    items = [
        interaction(0, "POST", "/api/v1/sessions", row(), status=201),
        interaction(1, "GET", path, {"records": view}),
        interaction(2, "GET", path, {"records": view[2:]}),
    ]
    return Cassette(items, {"upstream": "https://u", "placeholders": {"jwt": {}}})


def test_a_read_that_no_longer_shows_records_tells_of_a_trim() -> None:
    cassette = writer_cassette()
    owners = Owners({})
    owners.learn(cassette.interactions)
    end, _, notes = seed_documents(cassette.interactions, owners, 0)
    assert end is not None
    (entry,) = end["environments"][PLACEHOLDER_KEY]["sessions"]
    assert entry["channels"]["out"][-1] == {"body": "2", "headers": [["", "trim"]]}
    assert len(entry["channels"]["out"]) == 4 and any("trimmed" in note for note in notes)


def test_replay_writes_what_no_recorded_request_wrote_before_the_read_that_showed_it() -> None:
    observed = observe(writer_cassette(), agent=False)
    (first,) = observed.injections[1]
    assert (first.ref, first.io, first.first_seq) == (SESSION_ID, "out", 0)
    assert first.records[0] == {"body": '{"data":{"n":0},"id":"p0"}'}
    (trim,) = observed.injections[2]
    assert trim.first_seq == 3 and trim.records == ({"body": "2", "headers": [["", "trim"]]},)
    assert observed.read == frozenset({(PLACEHOLDER_KEY, SESSION_ID, "out")})


def test_a_restricted_key_linked_to_no_root_key_is_an_environment_of_its_own() -> None:
    owners = Owners({})
    owners.learn([])
    assert owners.environment("tr_dev_sk_recorded0000000000000001") == (
        "tr_dev_sk_recorded0000000000000001"
    )


def test_a_callback_signature_is_a_secret() -> None:
    url = "https://u/api/v1/waitpoints/tokens/waitpoint_a/callback/" + "ab" * 32
    assert Redactor().text(url).endswith("/callback/redacted-callback-1")


def test_what_is_new_by_nature_inside_texts_and_headers_is_not_a_difference() -> None:
    ids = IdMap()
    ids.alias("https://u", "http://t")
    ids.learn("waitpoint_a", "waitpoint_b")
    recorded = {
        "url": "https://u/api/v1/waitpoints/tokens/waitpoint_a/callback/redacted-callback-1",
        "output": '{"message":"Waitpoint timed out at 2030-01-01T00:00:00.000Z"}',
    }
    now = {
        "url": "http://t/api/v1/waitpoints/tokens/waitpoint_b/callback/" + "cd" * 32,
        "output": '{"message": "Waitpoint timed out at 2031-02-02T10:00:00.000Z"}',
    }
    assert compare_answer(recorded_answer(200, recorded), 200, [], orjson.dumps(now), ids) == []
    assert ids.get("redacted-callback-1") == "cd" * 32
    headers = [["trigger-control", "turn-complete"], ["public-access-token", "redacted.jwt.1"]]
    sse = b"event: batch\nid: 1,1,1\ndata: " + orjson.dumps(
        {"records": [{"seq_num": 0, "timestamp": 1, "headers": headers, "body": ""}]}
    ) + b"\n\n"  # fmt: skip
    actual = sse.replace(b"redacted.jwt.1", b"eyJ.a.b")
    assert compare_answer(recorded_answer(sse=sse), 200, [], actual, ids) == []
    assert ids.get("redacted.jwt.1") == "eyJ.a.b"


def test_a_rate_limited_answer_is_compared_without_its_timing_and_a_cut_must_recur() -> None:
    def refusal(seconds: float, limit: int) -> dict[str, Any]:
        text = f"Rate limit exceeded 0/{limit} requests remaining. Retry in {seconds} seconds."
        return {"status": 429, "limit": limit, "reset": 17 + seconds, "detail": text,
                "secondsUntilReset": seconds}  # fmt: skip

    before = recorded_answer(429, refusal(1.5, 2))
    before.response_headers.append(("x-ratelimit-reset", "17"))
    assert compare_answer(before, 429, [], orjson.dumps(refusal(1.9, 2)), IdMap()) == []
    changed = compare_answer(before, 429, [], orjson.dumps(refusal(1.9, 3)), IdMap())
    assert "body.limit: 2 recorded, 3 now" in changed
    cut = recorded_answer(sse=batch((0, "a")))
    cut.cut = True
    assert compare_answer(cut, 200, [], batch((0, "a")), IdMap(), cut=True) == []
    assert compare_answer(cut, 200, [], batch((0, "a")), IdMap()) == [
        "the answer was cut off then, not now"
    ]
