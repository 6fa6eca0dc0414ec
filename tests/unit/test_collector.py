"""Survivors of a full collection past the bound are frozen; below it, nothing is."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from mock_server.server.collector import SurvivorFreezer


@pytest.fixture
def thawed() -> Iterator[None]:
    """Each test starts and ends with nothing frozen by it."""
    frozen = gc.get_freeze_count()
    gc.unfreeze()
    yield
    gc.unfreeze()
    if frozen:
        gc.freeze()


def test_a_full_collection_with_many_survivors_freezes_them(thawed: None) -> None:
    kept = [[n] for n in range(5000)]  # containers, so the collector tracks them
    with SurvivorFreezer(survivors=1000).installed() as freezer:
        gc.collect()
    assert freezer.freezes == 1
    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_objects(generation=2) == []  # the next full collection walks nothing old
    assert all(gc.is_tracked(item) for item in kept[:10])  # frozen, still tracked


def test_few_survivors_or_young_collections_freeze_nothing(thawed: None) -> None:
    with SurvivorFreezer(survivors=10**9).installed() as freezer:
        gc.collect()
    assert freezer.freezes == 0 and gc.get_freeze_count() == 0
    kept = [[n] for n in range(5000)]
    with SurvivorFreezer(survivors=10).installed() as freezer:
        gc.collect(0)
        gc.collect(1)
    assert freezer.freezes == 0 and gc.get_freeze_count() == 0
    assert kept


def test_the_freezer_leaves_the_callbacks_as_it_found_them() -> None:
    before = list(gc.callbacks)
    with SurvivorFreezer().installed():
        assert len(gc.callbacks) == len(before) + 1
    assert gc.callbacks == before
