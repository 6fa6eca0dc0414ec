"""The Docker image, as ``.ci/image build`` builds it (podman; there is no Docker engine
here): its own command serves the API as an unprivileged user, its ``HEALTHCHECK`` passes
inside the container, the contract suite passes against it, and ``SIGTERM`` stops it with
status 0.

Not part of the default test run (it needs root, podman and a built image):
``make image`` builds the image and runs this file; CI does the same. The image name
comes from ``TRIGGER_MOCK_IMAGE`` (default ``trigger-mock:ci``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from mock_server.testing import free_port

IMAGE = os.environ.get("TRIGGER_MOCK_IMAGE", "trigger-mock:ci")
SUDO = [] if os.geteuid() == 0 else ["sudo"]
STORAGE = ["--storage-driver=vfs"]
SERVE = "bin/trigger-mock serve"


def tool(name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SUDO, name, *STORAGE, *args], capture_output=True, text=True, check=check, timeout=300
    )


def inspect(field: str) -> Any:
    """One field of the image's configuration (``Cmd``, ``User``, ``Healthcheck``)."""
    template = "{{json .Config." + field + "}}"
    return json.loads(tool("podman", "image", "inspect", IMAGE, "--format", template).stdout)


@dataclass
class Running:
    container: str
    runner: subprocess.Popen[str]
    log: IO[str]
    port: int
    user: str
    pid: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()


def _answering(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@contextmanager
def started(**env: str) -> Iterator[Running]:
    """The image's own command in a container (host network, a free port), with ``env``
    as ``TRIGGER_MOCK_*`` variables besides the port; stopped at the end."""
    missing = shutil.which("podman") is None
    if missing or tool("podman", "image", "exists", IMAGE, check=False).returncode:
        pytest.fail(f"no image {IMAGE}: build it first (make image, or bash .ci/image build)")
    command, user = inspect("Cmd"), inspect("User")
    port = free_port()
    variables = [f"TRIGGER_MOCK_{name.upper()}={value}" for name, value in env.items()]
    container = tool("buildah", "from", IMAGE).stdout.strip()
    log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
    runner = subprocess.Popen(
        [*SUDO, "buildah", *STORAGE, "run", "--isolation=chroot", "--network=host",
         "-e", f"TRIGGER_MOCK_PORT={port}", *(f"-e{v}" for v in variables),
         container, "--", *command],
        stdout=log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    pid = 0
    try:
        deadline = time.monotonic() + 60
        while not pid:
            if runner.poll() is not None:
                log.seek(0)
                pytest.fail(f"the image's command exited ({runner.returncode}):\n{log.read()}")
            assert time.monotonic() < deadline, "the image's command did not answer"
            found = subprocess.run(["pgrep", "-u", user, "-f", SERVE], capture_output=True)
            if found.stdout and _answering(f"http://127.0.0.1:{port}/_mock/health"):
                pid = int(found.stdout.split()[-1])
            time.sleep(0.2)
        yield Running(container, runner, log, port, user, pid)
    finally:
        subprocess.run([*SUDO, "pkill", "-u", user, "-f", SERVE], check=False)
        runner.wait(timeout=30)
        tool("buildah", "rm", container, check=False)


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    with started() as image:
        yield image


def test_the_image_serves_as_an_unprivileged_user(running: Running) -> None:
    assert running.user == "10001"
    status = Path(f"/proc/{running.pid}/status").read_text()
    uid = next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
    assert uid == "10001"
    with urllib.request.urlopen(f"{running.base_url}/_mock/health", timeout=5) as answer:
        assert json.load(answer)["status"] == "ok"


def test_one_port_is_exposed_and_no_second_port_is_configured() -> None:
    assert inspect("ExposedPorts") == {"8080/tcp": {}}
    assert not any(variable.startswith("TRIGGER_MOCK_S2_PORT=") for variable in inspect("Env"))


def test_the_healthcheck_passes_inside_the_container(running: Running) -> None:
    check = inspect("Healthcheck")["Test"]
    assert check[0] == "CMD"
    result = tool(
        "buildah", "run", "--isolation=chroot", "--network=host",
        "-e", f"TRIGGER_MOCK_PORT={running.port}", running.container, "--", *check[1:],
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_contract_suite_passes_against_the_image(running: Running) -> None:
    contract = [
        sys.executable, "-m", "mock_server", "contract", "--base-url", running.base_url,
        "--allow-writes", "--dedicated-environment", "--junit-xml=image-contract.junit.xml",
    ]  # fmt: skip
    result = subprocess.run(contract, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-6000:]


def test_sigterm_stops_it_with_status_0(running: Running) -> None:
    subprocess.run([*SUDO, "kill", "-TERM", str(running.pid)], check=True)
    assert running.runner.wait(timeout=30) == 0
    assert "trigger-mock stopped" in running.output()
