"""Durations as the server reads them: ``filter[createdAt][period]`` with ``parse-duration``,
and a waitpoint's ``timeout`` or ``idempotencyKeyTTL`` with the SDK's simpler grammar."""

from __future__ import annotations

import re
from typing import Final

_MINUTE: Final = 60_000.0
_DAY: Final = 86_400_000.0
_YEAR: Final = 365.25 * _DAY
# parse-duration's English units, in its own order (a bare number after a unit takes the
# first unit in this order that is smaller than the previous one: "1h30" is 1h30m).
_UNITS: Final[dict[str, float]] = {
    "year": _YEAR, "yr": _YEAR, "y": _YEAR,
    "month": _YEAR / 12, "mo": _YEAR / 12, "mth": _YEAR / 12,
    "week": 7 * _DAY, "wk": 7 * _DAY, "w": 7 * _DAY,
    "day": _DAY, "d": _DAY,
    "hour": 60 * _MINUTE, "hr": 60 * _MINUTE, "h": 60 * _MINUTE,
    "minute": _MINUTE, "min": _MINUTE, "m": _MINUTE,
    "second": 1000.0, "sec": 1000.0, "s": 1000.0,
    "millisecond": 1.0, "millisec": 1.0, "ms": 1.0,
    "microsecond": 1e-3, "microsec": 1e-3, "us": 1e-3, "µs": 1e-3,
    "nanosecond": 1e-6, "nanosec": 1e-6, "ns": 1e-6,
}  # fmt: skip
_DURATION_PART: Final = re.compile(
    r"((?:\d{1,16}(?:\.\d{1,16})?|\.\d{1,16})(?:[eE][-+]?\d{1,4})?)\s?([^\W\d_]{0,14})"
)


def parse_period(text: str) -> float | None:
    """Milliseconds in a duration such as ``7d``, ``1h30m``, ``1h30``, ``2 weeks`` or
    ``90`` (ms), read the way the ``parse-duration`` package (which the server uses) reads
    it; ``None`` when nothing in it is a duration."""
    cleaned = re.sub(r"(\d)[ _,](\d)", r"\1\2", text)
    total: float | None = None
    previous: float | None = None
    for number, unit in _DURATION_PART.findall(cleaned):
        if unit:
            lowered = unit.lower()
            scale = _UNITS.get(lowered) or _UNITS.get(lowered.removesuffix("s"))
        elif previous:
            scale = next((v for v in _UNITS.values() if v < previous), None)
        else:
            scale = _UNITS["ms"]
        previous = scale
        if scale:
            total = (total or 0.0) + float(number) * scale
    if total and text.startswith("-"):
        return -total
    return total


_NATURAL: Final = re.compile(r"(?:[0-9]+(?:w|d|hr|h|m|s))+")
_NATURAL_UNITS: Final = (
    (re.compile(r"([0-9]+)w"), 7 * _DAY),
    (re.compile(r"([0-9]+)d"), _DAY),
    (re.compile(r"([0-9]+)(?:hr|h)"), 60 * _MINUTE),
    (re.compile(r"([0-9]+)m"), _MINUTE),
    (re.compile(r"([0-9]+)s"), 1000.0),
)


def natural_duration_ms(text: str) -> int | None:
    """Milliseconds in a duration such as ``30s``, ``1h30m``, ``2d`` or ``1w2d``, read as the
    SDK's ``parseNaturalLanguageDuration`` reads it: only whole numbers with the units
    ``w d h hr m s``, nothing else in the string, and each unit counted once (its first
    occurrence); ``None`` for anything else, or for more than 100 characters."""
    if len(text) > 100 or not _NATURAL.fullmatch(text):
        return None
    total = 0.0
    for pattern, scale in _NATURAL_UNITS:
        found = pattern.search(text)
        if found:
            total += int(found.group(1)) * scale
    return round(total)
