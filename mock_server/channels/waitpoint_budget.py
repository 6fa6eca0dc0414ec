"""The bound on what run-side waitpoints keep.

A waitpoint completed by a channel record keeps its own copy of the record's data, so
without a bound a client creating waitpoints on a channel holding a large record grows the
process by that record each time (measured: 1 GiB after about 1,000 creates on a 1 MiB
record). All waitpoints together may keep :data:`WAITPOINT_BUDGET` bytes (each counts
:data:`WAITPOINT_COST`, its idempotency key, its tags and its output). Past it, completed
waitpoints are forgotten oldest first (a later read of one is a ``404``, as for a waitpoint
that never was); if only waiting ones are left, a new one is refused.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Final, Protocol

WAITPOINT_BUDGET: Final = 64 * 1024 * 1024
WAITPOINT_COST: Final = 1024
"""Bytes a waitpoint costs besides its strings (its object, id, run set, dict entries)."""


class Kept(Protocol):
    charged: int
    completed_at: int | None

    @property
    def id(self) -> str: ...

    @property
    def cost(self) -> int: ...


class WaitpointBudget:
    """Waitpoints in creation order, and what they keep together."""

    def __init__(self, budget: int = WAITPOINT_BUDGET) -> None:
        self.budget = budget
        self.bytes = 0
        self.forgotten = 0
        """Completed waitpoints let go of to stay within the budget."""
        self._order: deque[tuple[str, Kept]] = deque()

    def kept(self, env_id: str, waitpoint: Kept) -> None:
        self._order.append((env_id, waitpoint))
        self.recharge(waitpoint)

    def recharge(self, waitpoint: Kept) -> None:
        """Count the waitpoint as it is now (it just completed, or timed out)."""
        cost = waitpoint.cost
        self.bytes += cost - waitpoint.charged
        waitpoint.charged = cost

    def fit(self, forget: Callable[[str, Kept], None]) -> bool:
        """Forget completed waitpoints, oldest first, until within the budget; whether it
        holds (only waiting waitpoints may be left over it)."""
        waiting: list[tuple[str, Kept]] = []
        while self.bytes > self.budget and self._order:
            env_id, waitpoint = self._order.popleft()
            if waitpoint.completed_at is None:
                waiting.append((env_id, waitpoint))
                continue
            self.bytes -= waitpoint.charged
            waitpoint.charged = 0
            self.forgotten += 1
            forget(env_id, waitpoint)
        self._order.extendleft(reversed(waiting))
        return self.bytes <= self.budget

    def clear(self, env_id: str | None = None) -> None:
        kept = [] if env_id is None else [e for e in self._order if e[0] != env_id]
        self._order = deque(kept)
        self.bytes = sum(waitpoint.charged for _, waitpoint in kept)
