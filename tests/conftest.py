"""Shared fixtures for the fake's own tests.

The HTTP tests under ``tests/http`` use the contract plugin's fixtures (``api``,
``other_api``): they run against the same four fake targets as the contract suite,
in-process and served, in both modes, each response checked against the specs.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]  # tests/http/test_pytest_plugin.py runs small test suites


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
