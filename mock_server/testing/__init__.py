"""Using the fake from a test suite: a served fake (:class:`MockServer`) and one test's
handle on it (:class:`TriggerMock`). The pytest fixtures in
:mod:`mock_server.testing.pytest_plugin` are built from these; they work without pytest
too. Standard library only."""

from .handle import TriggerMock
from .proxy import MockProxy
from .served import MockServer, RunningFake, ServedProcess, free_port, new_secret_key

__all__ = [
    "MockProxy",
    "MockServer",
    "RunningFake",
    "ServedProcess",
    "TriggerMock",
    "free_port",
    "new_secret_key",
]
