"""Instants on the wire: ISO 8601 with milliseconds and ``Z``, and back to epoch ms."""

from __future__ import annotations

import time
from datetime import datetime


def iso_ms(epoch_ms: int) -> str:
    """``2026-11-23T16:38:51.123Z`` for an epoch-millisecond instant."""
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_ms // 1000))
    return f"{seconds}.{epoch_ms % 1000:03d}Z"  # time.strftime: cheaper than datetime


def iso_or_none(epoch_ms: int | None) -> str | None:
    return None if epoch_ms is None else iso_ms(epoch_ms)


def parse_iso_ms(text: str) -> int:
    """Epoch milliseconds of an RFC 3339 date-time (``Z`` or an offset; ``t``/``z`` in any
    case). Raises ValueError for anything else that ``datetime`` cannot read."""
    moment = datetime.fromisoformat(text.upper().replace("Z", "+00:00").replace(" ", "T"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return round(moment.timestamp() * 1000)
