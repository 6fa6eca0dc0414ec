"""HTTP/2 connections on a served fake under its bounds: each is one of the
``--max-connections`` until it closes, is closed when idle at ``--keep-alive-timeout``
(not while a stream is open), and does not hold a stop. Timing bounds are generous: they
tell "closed by the bound" or "at once" from "held", nothing finer."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator

import pytest

from mock_server.testing import MockServer
from tests.http.http2_wire import (
    H2,
    HEALTH,
    PREFACE,
    SETTINGS_FRAME,
    Wire,
    answers_ping,
    created_session,
    h2_client,
    open_connections,
    open_h2,
    refused,
    wait_for,
)
from tests.support import new_key

pytestmark = pytest.mark.subprocess


@pytest.fixture(scope="module")
def brief() -> Iterator[MockServer]:
    """A fake that keeps an idle connection 1 s (and a header waits far longer)."""
    with MockServer("--keep-alive-timeout", "1", "--header-timeout", "60") as served:
        yield served


def test_http2_connections_count_against_the_connection_cap() -> None:
    with MockServer(
        "--max-connections", "3", "--header-timeout", "1", "--keep-alive-timeout", "60"
    ) as fake:
        held: list[Wire] = []

        def one_more_held() -> bool:
            # (Retried: the server may not yet have let go of a health check's connection.)
            try:
                held.append(open_h2(fake.port))
                return True
            except (AssertionError, ConnectionResetError, BrokenPipeError):
                return False

        wait_for(one_more_held)
        opened = time.monotonic()
        wait_for(one_more_held)
        # Two HTTP/2 connections and the health check's own.
        wait_for(lambda: open_connections(fake) == 3)
        wait_for(one_more_held)
        # Three open, all HTTP/2: past the cap, HTTP/1.1 and HTTP/2 alike are refused.
        assert refused(fake.port, HEALTH)
        assert refused(fake.port, PREFACE + SETTINGS_FRAME)
        # Held past the header timeout (1 s), an HTTP/2 connection is still served: it
        # sent no HTTP/1.1 header to wait for.
        time.sleep(max(0.0, opened + 1.5 - time.monotonic()))
        assert all(answers_ping(wire) for wire in held)
        assert refused(fake.port, HEALTH)

        # One goes: it stops counting at once (not at the keep-alive timeout, 60 s here),
        # and a new one is let in.
        held.pop().close()
        wait_for(lambda: open_connections(fake) == 3, timeout=5)
        wait_for(one_more_held)
        assert refused(fake.port, HEALTH)
        for wire in held:
            wire.close()
        wait_for(lambda: open_connections(fake) == 1, timeout=5)  # the health check's own
        assert fake.handle().health()["bounds"]["refusedConnections"] >= 4


def test_an_idle_http2_connection_is_closed_at_the_keep_alive_timeout(
    brief: MockServer,
) -> None:
    wire = open_h2(brief.port)  # the preface and SETTINGS, then nothing
    opened = time.monotonic()
    wire.rest()  # closed by the server, within the patience
    assert 0.5 <= time.monotonic() - opened < 5
    wire.close()


def test_an_http2_connection_idle_after_a_request_is_closed_at_the_keep_alive_timeout(
    brief: MockServer,
) -> None:
    client = H2(brief.port)
    client.request(1, "GET", "/_mock/health")
    assert client.answered(1) == 200
    answered = time.monotonic()
    client.wire.rest()  # closed by the server, within the patience
    assert 0.5 <= time.monotonic() - answered < 5
    client.wire.close()


def test_an_open_http2_stream_is_not_cut_at_the_keep_alive_timeout(brief: MockServer) -> None:
    key = new_key()
    path = f"/realtime/v1/sessions/{created_session(brief, key)}/out"
    headers = {
        "Authorization": f"Bearer {key}",
        "Accept": "text/event-stream",
        "Timeout-Seconds": "60",
    }
    with (
        h2_client(base_url=brief.base_url) as client,
        client.stream("GET", path, headers=headers) as stream,
    ):
        assert (stream.http_version, stream.status_code) == ("HTTP/2", 200)
        time.sleep(3)  # three keep-alive timeouts
        appended = brief.call("POST", path + "/append", {"said": "still here"}, token=key)
        assert appended[0] == 200
        received = b""
        for chunk in stream.iter_raw():
            received += chunk
            if b"still here" in received:
                break
        assert b"still here" in received  # still open and delivering


@pytest.mark.parametrize("streaming", [False, True], ids=["idle", "with-an-sse-stream"])
def test_sigterm_stops_the_server_at_once_with_http2_connections_open(streaming: bool) -> None:
    fake = MockServer().start()
    try:
        idle = open_h2(fake.port)
        with h2_client(base_url=fake.base_url) as client, contextlib.ExitStack() as streams:
            stream = None
            if streaming:
                key = new_key()
                path = f"/realtime/v1/sessions/{created_session(fake, key)}/out"
                headers = {
                    "Authorization": f"Bearer {key}",
                    "Accept": "text/event-stream",
                    "Timeout-Seconds": "600",
                }
                stream = streams.enter_context(client.stream("GET", path, headers=headers))
                assert (stream.http_version, stream.status_code) == ("HTTP/2", 200)
            started = time.monotonic()
            status = fake.stop(signal.SIGTERM, timeout=10)
            took = time.monotonic() - started
            assert status == 0
            # At once: not at the graceful shutdown's end (3 s), nor killed at 10 s.
            assert took < 2.5, f"stopped after {took:.1f}s"
            idle.rest()  # closed (a reset fails)
            idle.close()
            if stream is not None:
                # Ended by the server (its last event, then the stream's end), not cut.
                assert stream.read().endswith(b"data: [DONE]\n\n")
    finally:
        fake.stop(signal.SIGKILL)
