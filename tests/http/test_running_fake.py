"""``RunningFake``: the per-test handle on a fake something else started (a container
behind a port mapping, a compose service), reached at whatever URL the mapping gives."""

from __future__ import annotations

import pytest

from mock_server.testing import MockServer, RunningFake
from tests.port_forwarder import PortForwarder
from tests.support import session_body

pytestmark = pytest.mark.subprocess


def test_a_handle_on_a_fake_at_a_mapped_port() -> None:
    with MockServer() as fake, PortForwarder(fake.port) as mapped:
        running = RunningFake(f"http://127.0.0.1:{mapped.port}/")
        assert running.base_url == f"http://127.0.0.1:{mapped.port}"
        assert running.port == mapped.port
        one, other = running.handle(), running.handle()
        assert one.secret_key != other.secret_key  # an environment each
        assert one.api("POST", "/api/v1/sessions", session_body(externalId="mapped"))[0] == 201
        assert [s["externalId"] for s in one.sessions()] == ["mapped"]
        assert other.sessions() == []
        # Absolute URLs name the mapped port, not the one the fake listens on.
        assert one.requests(method="POST")[0]["status"] == 201
        number = one.requests(method="POST")[0]["number"]
        assert f"http://127.0.0.1:{mapped.port}/api/v1/sessions" in one.curl(number)
        one.reset()
        assert one.sessions() == []
        assert mapped.connections >= 1
