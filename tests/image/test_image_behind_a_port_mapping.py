"""The image with its port reached through another port, as ``docker run -p 9000:8080``
or a Testcontainers fixture (``with_exposed_ports(8080)``) puts it: the official SDK's
tests, the ``.out`` writers' HTTP/2 included, pass against the mapped port.

Port mapping itself needs a container network, which podman cannot set up here (its
runtime may not set resource limits in this sandbox), so the image's command runs on the
host network and a TCP forwarder maps a second port onto its own: the same bytes reach it,
and nothing in them names the port it listens on. Run with the rest of ``tests/image``
(``make image``; CI)."""

from __future__ import annotations

from tests.image.test_image import started
from tests.port_forwarder import PortForwarder
from tests.sdk.test_official_sdk import RESTRICTED_KEY, RESTRICTED_SCOPES, run_sdk_tests


def test_the_official_sdk_works_through_a_mapped_port() -> None:
    sdk_settings = {
        "agent": "echo",
        "validate_responses": "true",
        "secret_key": f"{RESTRICTED_KEY}={RESTRICTED_SCOPES}",
    }
    with started(**sdk_settings) as image, PortForwarder(image.port) as mapped:
        assert mapped.port != image.port
        run_sdk_tests(f"http://127.0.0.1:{mapped.port}")
        assert mapped.http2_connections >= 1  # the S2 writers came through the mapping
