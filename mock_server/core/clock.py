"""The fake's sense of time: real time, shifted or frozen by the control plane.

Everything time-dependent (``createdAt``, expiry, token ``iat``/``exp`` and token
verification) reads one :class:`Clock`, so a test can move time and see every rule
that depends on it move with it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


def system_ms() -> int:
    """Milliseconds since the Unix epoch from the system clock."""
    return time.time_ns() // 1_000_000


class Clock(Protocol):
    def now_ms(self) -> int:
        """Current time in epoch milliseconds."""
        ...


@dataclass(frozen=True, slots=True)
class ClockState:
    now_ms: int
    offset_ms: int
    frozen: bool

    @property
    def is_real(self) -> bool:
        return not self.frozen and self.offset_ms == 0


class ControllableClock:
    """Real time plus an offset, or a frozen instant.

    ``advance`` moves time forward (or back) by a number of seconds, ``set`` jumps to an
    instant and keeps ticking from there unless ``frozen``, ``reset`` returns to real time.
    """

    def __init__(self, source: Callable[[], int] = system_ms) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._offset_ms = 0
        self._frozen_at: int | None = None

    def now_ms(self) -> int:
        frozen = self._frozen_at
        if frozen is not None:
            return frozen
        return self._source() + self._offset_ms

    def advance(self, seconds: float) -> ClockState:
        delta = round(seconds * 1000)
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += delta
            else:
                self._offset_ms += delta
        return self.state()

    def set(self, at_ms: int, *, frozen: bool = False) -> ClockState:
        with self._lock:
            if frozen:
                self._frozen_at = at_ms
                self._offset_ms = 0
            else:
                self._frozen_at = None
                self._offset_ms = at_ms - self._source()
        return self.state()

    def reset(self) -> ClockState:
        with self._lock:
            self._offset_ms = 0
            self._frozen_at = None
        return self.state()

    def state(self) -> ClockState:
        return ClockState(
            now_ms=self.now_ms(),
            offset_ms=self._offset_ms,
            frozen=self._frozen_at is not None,
        )
