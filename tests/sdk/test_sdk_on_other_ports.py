"""The official SDK reaching the fake on another port than the one it listens on: through
a port mapping (what ``docker run -p`` and Testcontainers do) and through a reverse proxy
(HAProxy, which rewrites ``Host`` and says where the client was in ``X-Forwarded-*``).
The SDK's ``.out`` writers call the S2 endpoint that initialize names in
``X-S2-Endpoint``, over HTTP/2 with prior knowledge; they work only if that names the
address the client used, on a port that also speaks HTTP/2. The container image itself
is run behind a port mapping in ``tests/image``."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mock_server.testing import MockServer, free_port
from tests.port_forwarder import PortForwarder
from tests.sdk.test_official_sdk import echo_fake_for, run_sdk_tests

WRITERS = "sessions.test.mjs"  # the file with .out.append/pipe/writer, writeControl, trimTo

# The fake is told it is "internal-upstream:8080", a name nothing resolves: the SDK's
# writers find it only through the X-Forwarded-* headers.
HAPROXY_CONFIG = """
global
    log stderr format raw local0 warning
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    # Idle client connections go soon (the SDK's HTTP/2 session to the S2 endpoint
    # included), else node waits for them before it exits.
    timeout http-keep-alive 2s
frontend public
    bind 127.0.0.1:{public}
    option forwardfor
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    http-request set-header X-Forwarded-Proto http
    http-request set-header Host internal-upstream:8080
    default_backend fake
backend fake
    server fake 127.0.0.1:{upstream}
"""


@pytest.fixture(scope="module")
def echo_fake() -> Iterator[MockServer]:
    with echo_fake_for("documented") as fake:
        yield fake


def test_the_sdk_writes_through_a_port_mapping(echo_fake: MockServer) -> None:
    with PortForwarder(echo_fake.port) as mapped:
        run_sdk_tests(f"http://127.0.0.1:{mapped.port}", WRITERS)
        # The writers' HTTP/2 went through the mapped port, not around it.
        assert mapped.http2_connections >= 1


@pytest.fixture
def haproxy(echo_fake: MockServer) -> Iterator[str]:
    binary = shutil.which("haproxy")
    assert binary, "HAProxy is needed here (apt-get install haproxy; .ci/run installs it)"
    public = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "haproxy.cfg"
        config.write_text(HAPROXY_CONFIG.format(public=public, upstream=echo_fake.port))
        process = subprocess.Popen(
            [binary, "-db", "-f", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        url = f"http://127.0.0.1:{public}"
        try:
            deadline = time.monotonic() + 10
            while True:
                assert process.poll() is None, process.communicate()[0]
                try:
                    if httpx.get(f"{url}/_mock/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "HAProxy did not answer"
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_the_sdk_writes_through_a_reverse_proxy(haproxy: str) -> None:
    init = httpx.put(
        f"{haproxy}/realtime/v1/sessions/through-proxy/out",
        headers={"Authorization": "Bearer tr_dev_throughTheProxy"},
    )
    assert init.headers["x-s2-endpoint"] == f"{haproxy}/s2/v1"
    run_sdk_tests(haproxy, WRITERS)
