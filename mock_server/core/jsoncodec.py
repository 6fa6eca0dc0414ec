"""JSON text in and out: strict parsing of request bodies, compact UTF-8 responses.

orjson does the work when it can, several times faster than the standard library; what it
refuses, or would read differently, goes to the standard library, whose verdicts and
values are the reference either way.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

import orjson

from .errors import InvalidJson, Issue, ValidationFailed

MAX_JSON_DEPTH: Final = 128
# orjson reads integers past 64 bits as floats; the standard library keeps them exact.
_LONG_DIGIT_RUN: Final = re.compile(rb"[0-9]{19}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} does not fit a double")
    return value


def exact_orjson(raw: bytes | str) -> Any:
    """orjson's reading of ``raw``; ``orjson.JSONDecodeError`` for what it refuses and for
    text it would read differently from the standard library (integers past 64 bits)."""
    if _LONG_DIGIT_RUN.search(raw.encode() if isinstance(raw, str) else raw):
        raise orjson.JSONDecodeError("a number orjson would round", "", 0)
    return orjson.loads(raw)


def parse_json(raw: bytes) -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity, numbers that fit a double, bounded nesting.

    orjson reads the body when it can; whatever it refuses (and any long run of digits)
    goes to the standard library, whose verdict and values are the reference."""
    value: Any
    try:
        value = exact_orjson(raw)
    except orjson.JSONDecodeError:
        try:
            value = json.loads(
                raw.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite_float
            )
        except (ValueError, RecursionError) as exc:
            raise InvalidJson() from exc
    # Each level opens a bracket: with few brackets in the text, the walk can be skipped.
    few = raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH
    if not few and _depth(value) > MAX_JSON_DEPTH:
        message = f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
        raise ValidationFailed([Issue("custom", message)])
    return value


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        if children:
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children)
    return deepest


def _embedded(value: Any) -> Any:
    if type(value) is bytes:
        return orjson.Fragment(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _decoded(value: Any) -> Any:
    if type(value) is bytes:
        return stored_value(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def dump_json(data: Any) -> bytes:
    """Compact JSON in UTF-8, by orjson. ``bytes`` in ``data`` are JSON text (what
    :func:`stored_json` keeps) and go in as they are. What orjson refuses (strings holding
    lone surrogates, valid in JSON text but not in UTF-8; integers past 64 bits) goes to
    the standard library, with ``\\u`` escapes where UTF-8 cannot carry a character."""
    try:
        return orjson.dumps(data, default=_embedded)
    except TypeError:
        pass
    compact = (",", ":")
    try:
        return json.dumps(data, separators=compact, ensure_ascii=False, default=_decoded).encode()
    except UnicodeEncodeError:
        return json.dumps(data, separators=compact, default=_decoded).encode()


KEPT_COPY_BELOW: Final = 64 * 1024
"""Below this size, :func:`dump_json_kept` copies orjson's result."""


def dump_json_kept(data: Any) -> bytes:
    """:func:`dump_json` for a value the fake keeps for long (a channel record). orjson
    builds its output in a working buffer and shrinks it in place at the end; for a small
    result the rest of that buffer stays allocated behind it, about 4 KiB per value
    (measured: 200,000 kept 100-byte values took 4.1 KiB each in RSS, 125 bytes each once
    copied). A copy to the exact size costs one memcpy."""
    dumped = dump_json(data)
    return memoryview(dumped).tobytes() if len(dumped) < KEPT_COPY_BELOW else dumped


def stored_json(value: Any) -> bytes:
    """A value the fake keeps but never looks inside (a session's ``triggerConfig`` and
    ``metadata``), as its JSON text: a few hundred bytes less than the dictionaries it
    came from and, being bytes, never walked by the garbage collector, so full collections
    cost the same however many sessions are stored. :func:`stored_value` reads it back;
    :func:`dump_json` writes it out as it is."""
    return dump_json_kept(value)


def stored_value(text: bytes) -> Any:
    """The value :func:`stored_json` kept, as a fresh copy (changing it changes nothing
    stored), exactly: integers past 64 bits and lone surrogates included."""
    try:
        return exact_orjson(text)
    except orjson.JSONDecodeError:  # what dump_json left to the standard library
        return json.loads(text)


def js_number(value: float) -> int | float:
    """A number as JavaScript prints it: whole numbers (below 1e21) without ``.0``."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    return value


def js_number_text(value: float) -> str:
    """``String(value)`` in JavaScript for a finite number."""
    number = js_number(value)
    if isinstance(number, int):
        return str(number)
    text = repr(number)
    if "e" in text:  # Python writes 1e-07 where JavaScript writes 1e-7
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{'+' if int(exponent) > 0 else '-'}{abs(int(exponent))}"
    return text


def dump_js_json(value: Any) -> str:
    """``JSON.stringify(value)``: compact, keys in order, numbers as JavaScript writes
    them, non-ASCII characters as they are."""
    if isinstance(value, dict):
        items = (
            f"{json.dumps(str(k), ensure_ascii=False)}:{dump_js_json(v)}" for k, v in value.items()
        )
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump_js_json(item) for item in value) + "]"
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    return js_number_text(value)
