"""Full garbage collections kept short however much the fake stores.

CPython's full collection walks every container object that has lived through earlier
collections. A fake that stores what clients make (sessions, their channels and records)
keeps many such objects for good, so left alone each full collection takes longer the
longer the server runs: with 90,000 sessions made and closed under load, 100-350 ms
pauses, the p99 of every request caught in one.

Two things keep it flat. Stored data is kept in shapes the collector need not walk (a
session is one object; its JSON values are bytes). And :class:`SurvivorFreezer`, after a
full collection that leaves more than :data:`FREEZE_SURVIVORS` objects in the oldest
generation, moves them out of the collector's reach (``gc.freeze()``, as ``serve`` does
with everything built at start-up), so the next full collection walks only what has
arrived since. The collector still runs as configured; nothing is disabled.

What freezing costs: an object frozen while alive that later becomes part of a reference
cycle's garbage is never reclaimed. Stored data forms no cycles (it is freed, by reference
counting, when a reset or retention lets go of it); what else is alive at a freeze (open
connections, their tasks) is a few kilobytes, and a freeze happens once per
``FREEZE_SURVIVORS`` long-lived objects, so that cost stays a small fraction of what was
stored.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

_OLDEST: Final = 2
FREEZE_SURVIVORS: Final = 25_000
"""Survivors of a full collection that are frozen: at about a microsecond per object
walked on a loaded 2-core machine, a full collection stays near 25 ms at most."""


class SurvivorFreezer:
    """A ``gc.callbacks`` entry: freezes the oldest generation when a full collection
    leaves at least ``survivors`` objects in it."""

    def __init__(self, survivors: int = FREEZE_SURVIVORS) -> None:
        self.survivors = survivors
        self.freezes = 0
        """Freezes done."""

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop" or info.get("generation") != _OLDEST:
            return
        if len(gc.get_objects(generation=2)) >= self.survivors:
            gc.freeze()
            self.freezes += 1

    @contextmanager
    def installed(self) -> Iterator[SurvivorFreezer]:
        gc.callbacks.append(self)
        try:
            yield self
        finally:
            gc.callbacks.remove(self)
