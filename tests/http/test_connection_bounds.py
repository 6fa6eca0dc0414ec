"""Connection bounds on a served fake, over raw sockets: a request header has a deadline
(``--header-timeout``), an idle keep-alive connection goes (``--keep-alive-timeout``), and
the connections open at once are capped (``--max-connections``), while requests in flight,
long SSE reads and pipelined requests are left alone. Timing bounds here are generous on
purpose: they tell "closed by the bound" from "held forever", nothing finer."""

from __future__ import annotations

import json
import resource
import selectors
import time
from collections.abc import Iterator
from typing import Any

import pytest

from mock_server.testing import MockServer
from tests.http.http2_wire import Wire
from tests.support import new_key, session_body

pytestmark = pytest.mark.subprocess

HALF_HEADER = b"GET /api/v1/sessions HTTP/1.1\r\nHost: x\r\n"
HEALTH = b"GET /_mock/health HTTP/1.1\r\nHost: x\r\n\r\n"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # an empty SETTINGS frame
PROBE = 1_500  # half-header connections in the probe
PATIENCE = 30.0  # seconds: far beyond any bound under test


class Raw(Wire):
    """One client socket speaking HTTP/1.1 by hand."""

    def __init__(self, port: int) -> None:
        super().__init__(port, PATIENCE)

    def response(self) -> tuple[int, dict[str, str], bytes]:
        """The next answer with a ``Content-Length`` (status, headers, body)."""
        while b"\r\n\r\n" not in self.buffer:
            assert self.more(), f"closed before an answer: {self.buffer!r}"
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:])
        length = int(headers["content-length"])
        while len(self.buffer) < length:
            assert self.more(), "closed in the middle of a body"
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(lines[0].split()[1]), headers, body

    def until(self, wanted: bytes) -> None:
        while wanted not in self.buffer:
            assert self.more(), f"closed before {wanted!r} came: {self.buffer!r}"


def is_header_timeout(answer: bytes) -> bool:
    """The 408 the fake sends when a header is late, in the API's error shape."""
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode().lower().split("\r\n")
    return (
        lines[0].startswith("http/1.1 408 ")
        and "content-type: application/json; charset=utf-8" in lines
        and "connection: close" in lines
        and "header timeout" in json.loads(body)["error"]
    )


def counts(fake: MockServer) -> dict[str, int]:
    """The bounds' counts in ``/_mock/health`` (``headerTimeouts``, ``openConnections``…)."""
    status, health = fake.call("GET", "/_mock/health")
    assert status == 200
    return dict(health["bounds"])


def log_lines(fake: MockServer, text: str) -> list[str]:
    return [line for line in fake.output().splitlines() if text in line]


def wait_for(check: Any, timeout: float = PATIENCE) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the patience"
        time.sleep(0.05)


def enough_open_files(count: int) -> None:
    """Raise this process's soft limit on open files to ``count`` if it is lower (the
    served fake inherits it, and raises its own as it needs)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < count:
        assert hard == resource.RLIM_INFINITY or hard >= count, f"ulimit -Hn below {count}"
        resource.setrlimit(resource.RLIMIT_NOFILE, (count, hard))


@pytest.fixture(scope="module")
def fake() -> Iterator[MockServer]:
    with MockServer("--header-timeout", "1", "--keep-alive-timeout", "3") as served:
        yield served


def test_half_headers_by_the_thousand_time_out_while_others_are_served() -> None:
    enough_open_files(PROBE + 512)
    with MockServer("--header-timeout", "3", "--max-connections", str(PROBE + 500)) as fake:
        started = time.monotonic()
        hanging = []
        for _ in range(PROBE):
            raw = Raw(fake.port)
            raw.send(HALF_HEADER)
            hanging.append(raw)
        opened = time.monotonic() - started
        status, created = fake.call("POST", "/api/v1/sessions", session_body(), token=new_key())
        served = time.monotonic() - started
        assert status == 201 and created["id"].startswith("session_")

        answers: dict[int, bytes] = {}
        with selectors.DefaultSelector() as waiting:
            for raw in hanging:
                raw.sock.setblocking(False)
                waiting.register(raw.sock, selectors.EVENT_READ, raw)
            deadline = time.monotonic() + 3 + PATIENCE
            while len(answers) < PROBE and time.monotonic() < deadline:
                for key, _ in waiting.select(timeout=1):
                    raw = key.data
                    if not raw.more():
                        answers[id(raw)] = raw.buffer
                        waiting.unregister(raw.sock)
        closed = time.monotonic() - started
        print(
            f"{PROBE} half headers sent in {opened:.2f}s; another client served at "
            f"{served:.2f}s; all answered 408 and closed at {closed:.2f}s"
        )
        for raw in hanging:
            raw.close()
        assert len(answers) == PROBE, f"{PROBE - len(answers)} still open after {closed:.0f}s"
        assert all(is_header_timeout(answer) for answer in answers.values())
        # Counted, each; logged in a few lines, not 1,500; and all let go of (but the
        # health check's own connection).
        assert counts(fake)["headerTimeouts"] == PROBE
        assert 1 <= len(log_lines(fake, "(header_timeout)")) <= closed + 2
        wait_for(lambda: counts(fake)["openConnections"] == 1)
        assert counts(fake)["refusedConnections"] == 0


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(
    fake: MockServer,
) -> None:
    before = counts(fake)["headerTimeouts"]
    started = time.monotonic()
    raw = Raw(fake.port)
    answer = raw.rest()
    assert time.monotonic() - started >= 0.9  # the deadline, not a refusal
    assert is_header_timeout(answer)
    assert counts(fake)["headerTimeouts"] >= before + 1


def test_half_a_header_is_answered_408_and_closed(fake: MockServer) -> None:
    before = counts(fake)["headerTimeouts"]
    raw = Raw(fake.port)
    raw.send(HALF_HEADER)
    assert is_header_timeout(raw.rest())
    assert counts(fake)["headerTimeouts"] >= before + 1


def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout(
    fake: MockServer,
) -> None:
    before = counts(fake)
    raw = Raw(fake.port)
    raw.send(HEALTH)
    assert raw.response()[0] == 200
    answered = time.monotonic()
    # Idle past the header timeout (1 s), it is closed at the keep-alive timeout (3 s)
    # with nothing sent: no 408 for a request that never began.
    assert raw.rest() == b""
    assert time.monotonic() - answered >= 2
    after = counts(fake)
    assert after["idleClosed"] >= before["idleClosed"] + 1
    assert after["headerTimeouts"] == before["headerTimeouts"]


def test_timeouts_changed_while_serving_apply_to_the_next_wait() -> None:
    with MockServer("--header-timeout", "60", "--keep-alive-timeout", "60") as fake:
        fake.handle().limit(headerTimeout=1, keepAliveTimeout=1)
        silent = Raw(fake.port)
        idle = Raw(fake.port)
        idle.send(HEALTH)
        assert idle.response()[0] == 200
        # An HTTP/2 connection (hypercorn's handling) that sent its preface and no request
        # is kept as long as the keep-alive timeout.
        h2 = Raw(fake.port)
        h2.send(PREFACE + SETTINGS)
        # All within the patience (the sockets' timeout), far below the 60 s at start.
        assert is_header_timeout(silent.rest())
        assert idle.rest() == b""
        answer = h2.rest()  # its SETTINGS frame, then the close
        assert len(answer) >= 9 and answer[3] == 0x04


def test_a_long_sse_read_outlives_the_header_timeout(fake: MockServer) -> None:
    key = new_key()
    status, created = fake.call("POST", "/api/v1/sessions", session_body(), token=key)
    assert status == 201
    path = f"/realtime/v1/sessions/{created['id']}/out"
    raw = Raw(fake.port)
    raw.send(
        f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
        "Accept: text/event-stream\r\nTimeout-Seconds: 60\r\n\r\n".encode()
    )
    raw.until(b"\r\n\r\n")
    assert raw.buffer.startswith(b"HTTP/1.1 200 ") and b"text/event-stream" in raw.buffer
    time.sleep(2.5)  # well past the header timeout
    appended = fake.call("POST", path + "/append", {"said": "still here"}, token=key)
    assert appended[0] == 200
    raw.until(b"still here")  # the stream is still open and delivering
    raw.close()


def test_pipelined_requests_are_answered_in_order(fake: MockServer) -> None:
    key = new_key()
    create = json.dumps(session_body(externalId="piped")).encode()
    post = (
        f"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(create)}\r\n\r\n"
    ).encode() + create
    get = f"GET /api/v1/sessions/piped HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\r\n"
    raw = Raw(fake.port)
    raw.send(post + HEALTH + get.encode())
    first, second, third = raw.response(), raw.response(), raw.response()
    assert first[0] == 201 and second[0] == 200 and third[0] == 200
    assert json.loads(third[2])["id"] == json.loads(first[2])["id"]
    raw.send(HEALTH)  # still kept alive
    assert raw.response()[0] == 200
    raw.close()


def refused(port: int) -> bool:
    """Whether a new connection is closed at once with no answer: a reset (which may come
    before ``connect`` returns) or an EOF."""
    try:
        raw = Raw(port)
    except ConnectionResetError:
        return True
    try:
        raw.send(HEALTH)
        return raw.rest() == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    finally:
        raw.close()


def kept_open(port: int) -> Raw | None:
    """A new connection that was answered (a health check) and stays open, or ``None``
    if it was refused."""
    try:
        raw = Raw(port)
    except ConnectionResetError:
        return None
    try:
        raw.send(HEALTH)
        if raw.response()[0] == 200:
            return raw
    except (AssertionError, ConnectionResetError, BrokenPipeError):
        pass
    raw.close()
    return None


def test_connections_beyond_the_cap_are_closed_as_they_open() -> None:
    cap = 20
    with MockServer(
        "--max-connections", str(cap), "--header-timeout", "60", "--keep-alive-timeout", "60"
    ) as fake:
        held: list[Raw] = []

        def one_more_held() -> bool:
            raw = kept_open(fake.port)
            if raw is not None:
                held.append(raw)
            return raw is not None

        # (Retried: the server may not yet have let go of the readiness check's connection.)
        for _ in range(cap):
            wait_for(one_more_held)
        started = time.monotonic()
        assert refused(fake.port)
        assert time.monotonic() - started < PATIENCE / 2  # at once, not at a timeout
        wait_for(lambda: log_lines(fake, f"refused a connection: {cap} are open"))

        held.pop().close()  # one goes: a new one is let in
        wait_for(one_more_held)
        assert len(held) == cap
        assert refused(fake.port)  # and the cap holds again
        for raw in held:
            raw.close()
        wait_for(lambda: counts(fake)["openConnections"] == 1)  # the health check's own
        assert counts(fake)["refusedConnections"] >= 2


@pytest.mark.parametrize(
    "head",
    [
        b"GET /api/v1/sessions HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 40_000 + b"\r\n\r\n",
        b"GET /api/v1/sessions HTTP/1.1\r\nHost: x\r\n" + b"a: b\r\n" * 150 + b"\r\n",
        b"GET /api/v1/sessions?q=" + b"q" * 40_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
    ids=["long header", "many headers", "long target"],
)
def test_a_header_past_its_bound_is_answered_431_and_not_kept(
    fake: MockServer, head: bytes
) -> None:
    before = counts(fake)["oversizedHeaders"]
    raw = Raw(fake.port)
    raw.send(head)
    status, headers, body = raw.response()
    assert (status, headers["connection"]) == (431, "close")
    assert "Request header too large" in json.loads(body)["error"]
    assert raw.rest() == b""  # nothing more, and closed after the answer
    raw.close()
    assert counts(fake)["oversizedHeaders"] == before + 1
    # Within the bounds, the same kind of request is served.
    ok = Raw(fake.port)
    ok.send(b"GET /_mock/health HTTP/1.1\r\nHost: x\r\n" + b"a: b\r\n" * 90 + b"\r\n")
    assert ok.response()[0] == 200
    ok.close()
