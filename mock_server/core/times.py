"""Instants on the wire: ISO 8601 with milliseconds and ``Z``, and back to epoch ms."""

from __future__ import annotations

import functools
import re
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final


@functools.lru_cache(maxsize=4096)
def _iso_second(epoch_s: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_s))  # cheaper than datetime


@functools.lru_cache(maxsize=16_384)
def iso_ms(epoch_ms: int) -> str:
    """``2026-11-23T16:38:51.123Z`` for an epoch-millisecond instant.

    Remembered, as is each second's text: a page of sessions formats the same instants on
    every read (``strftime`` was a quarter of a list request's time), and instants made
    in one second share their text up to the milliseconds."""
    return f"{_iso_second(epoch_ms // 1000)}.{epoch_ms % 1000:03d}Z"


def iso_or_none(epoch_ms: int | None) -> str | None:
    return None if epoch_ms is None else iso_ms(epoch_ms)


def parse_iso_ms(text: str) -> int:
    """Epoch milliseconds of an RFC 3339 date-time (``Z`` or an offset; ``t``/``z`` in any
    case). Raises ValueError for anything else that ``datetime`` cannot read."""
    moment = datetime.fromisoformat(text.upper().replace("Z", "+00:00").replace(" ", "T"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return round(moment.timestamp() * 1000)


MAX_JS_TIME_MS: Final = 8_640_000_000_000_000
_ISO_DATE: Final = re.compile(r"([+-]\d{6}|\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_SLASHED: Final = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")


def js_date_ms(value: object) -> int | None:
    """``new Date(value).getTime()`` for a JSON value, as the deployed server coerces a date
    (``null`` is the epoch, numbers are epoch milliseconds); ``None`` where JavaScript gets
    an invalid date. Strings: ISO 8601 forms, RFC 2822 dates and ``YYYY/MM/DD [hh:mm[:ss]]``,
    times without a zone read as UTC (the server's own zone)."""
    if value is None or isinstance(value, bool):
        return int(bool(value))
    if isinstance(value, int | float):
        if value != value or abs(value) > MAX_JS_TIME_MS:
            return None
        return int(value)  # toward zero, as the Date constructor clips it
    if not isinstance(value, str):
        return None
    text = value.strip()
    return _iso(text) if text[:1].isdigit() or text[:1] in ("+", "-") else _rfc2822(text)


def _iso(text: str) -> int | None:
    date_only = _ISO_DATE.fullmatch(text)
    if date_only:
        year, month, day = date_only.groups()
        try:
            moment = datetime(int(year), int(month or 1), int(day or 1), tzinfo=UTC)
        except ValueError:
            return None
        return round(moment.timestamp() * 1000)
    slashed = _SLASHED.fullmatch(text)
    if slashed:
        y, mo, d, h, mi, s = (int(part or 0) for part in slashed.groups())
        try:
            moment = datetime(y, mo, d, h, mi, s, tzinfo=UTC)
        except ValueError:
            return None
        return round(moment.timestamp() * 1000)
    try:
        moment = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def _rfc2822(text: str) -> int | None:
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)
