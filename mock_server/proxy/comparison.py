"""Holding a replayed answer against the recorded one.

- The status must be the same; when it is not, nothing else is compared.
- A JSON body must have the same keys and values, except values new by nature: two valid
  ISO dates are equal, as are two numbers under ``timestamp``; a placeholder (a token, a
  key) matches any string; ids (``session_…``, ``run_…``, ``waitpoint_…``, environment ids,
  and whatever sits under ``id``, ``sub``, ``environment``, ``runId``, ``currentRunId``,
  ``endedRunId``) must follow the :class:`~.idmap.IdMap`, not be equal. Other strings are
  compared once the map has replaced the ids in the recorded one.
  A string holding JSON is compared as JSON; dates within a text match any date.
- An event stream's records (sequence numbers, headers, bodies) must be the same, in
  order, whatever the batches and pings; a body that is JSON is compared as above, header
  values as strings are. A stream the client left early (no ``[DONE]``) may go on past
  what was recorded. An answer the upstream cut off must be cut off again.
- The rate limiter's ``429`` (with ``x-ratelimit-reset``) is compared without its timing
  (:func:`without_limiter_timing`).
- Any other body must be the same text, ids replaced.
"""

from __future__ import annotations

import re
from typing import Any, Final

import orjson

from ..core.times import parse_iso_ms
from .cassette import Interaction, read_json
from .eventstream import StreamRecord, read_stream
from .exchange import NOT_JSON, Headers
from .idmap import SUBSTITUTED, IdMap

MAPPED_KEYS: Final = frozenset(
    {"id", "sub", "environment", "runId", "currentRunId", "endedRunId", "callingRunId",
     "messageId"}
)  # fmt: skip
INSTANT_NUMBER_KEYS: Final = frozenset({"timestamp"})
_INSTANT_IN_TEXT: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(?:\.[0-9]{1,9})?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
LIMITER_TIMING_KEYS: Final = frozenset({"reset", "secondsUntilReset"})
_LIMITER_SECONDS: Final = re.compile(r"[0-9]+(?:\.[0-9]+)? seconds")
PLACEHOLDER: Final = re.compile(
    r"redacted\.jwt\.[0-9]+|redacted-s2-[0-9]+|redacted-credential-[0-9]+"
    r"|redacted-callback-[0-9]+|tr_[a-z]+_(sk_)?recorded[0-9]+"
)
_ID_SHAPE: Final = re.compile(r"(?:session|run|waitpoint)_[A-Za-z0-9]+")
_EMBEDDED: Final = re.compile(rf"(?<![A-Za-z0-9_.-])(?:{SUBSTITUTED.pattern})(?![A-Za-z0-9_])")


def short(value: Any, limit: int = 80) -> str:
    """A value as JSON text, cut to ``limit`` characters."""
    text = orjson.dumps(value).decode() if not isinstance(value, bytes) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_instant(text: str) -> bool:
    if len(text) < 10 or not text[:4].isdigit():
        return False
    try:
        parse_iso_ms(text)
    except ValueError:
        return False
    return True


def compare_json(recorded: Any, actual: Any, where: str, ids: IdMap, key: str = "") -> list[str]:
    """What differs between two JSON values (and the ids learnt on the way)."""
    if isinstance(recorded, dict):
        if not isinstance(actual, dict):
            return [f"{where}: an object recorded, {short(actual)} now"]
        found = [f"{where}.{k}: missing" for k in recorded if k not in actual]
        found += [f"{where}.{k}: new ({short(actual[k])})" for k in actual if k not in recorded]
        for k in recorded:
            if k in actual:
                found += compare_json(recorded[k], actual[k], f"{where}.{k}", ids, k)
        return found
    if isinstance(recorded, list):
        if not isinstance(actual, list):
            return [f"{where}: a list recorded, {short(actual)} now"]
        if len(recorded) != len(actual):
            return [f"{where}: {len(recorded)} items recorded, {len(actual)} now"]
        return [
            d
            for n, (r, a) in enumerate(zip(recorded, actual, strict=True))
            for d in compare_json(r, a, f"{where}[{n}]", ids, key)
        ]
    if isinstance(recorded, str):
        return _compare_string(recorded, actual, where, ids, key)
    if isinstance(recorded, bool) or isinstance(actual, bool) or recorded is None:
        same = type(recorded) is type(actual) and recorded == actual
    elif isinstance(recorded, int | float) and isinstance(actual, int | float):
        same = key in INSTANT_NUMBER_KEYS or recorded == actual
    else:
        same = False
    return [] if same else [f"{where}: {short(recorded)} recorded, {short(actual)} now"]


def _compare_string(recorded: str, actual: Any, where: str, ids: IdMap, key: str) -> list[str]:
    if not isinstance(actual, str):
        return [f"{where}: {short(recorded)} recorded, {short(actual)} now"]
    if PLACEHOLDER.fullmatch(recorded):
        ids.learn(recorded, actual)  # a token or key of the target's own
        return []
    if _is_instant(recorded) and _is_instant(actual):
        return []
    if key in MAPPED_KEYS or _ID_SHAPE.fullmatch(recorded) or SUBSTITUTED.fullmatch(recorded):
        wrong = ids.learn(recorded, actual)
        return [] if wrong is None else [f"{where}: {wrong}"]
    expected = ids.apply(recorded)
    if expected == actual:
        return []
    if recorded[:1] in ("{", "[") and actual[:1] == recorded[:1]:  # JSON held in a string
        inner = read_json(recorded.encode()), read_json(actual.encode())
        if NOT_JSON not in inner:
            return compare_json(inner[0], inner[1], where, ids)
    if _INSTANT_IN_TEXT.sub("(date)", expected) == _INSTANT_IN_TEXT.sub("(date)", actual):
        return []  # dates in a text are new by nature too
    if _learn_embedded(recorded, actual, ids):
        return []
    return [f"{where}: {short(expected)} recorded, {short(actual)} now"]


def _learn_embedded(recorded: str, actual: str, ids: IdMap) -> bool:
    """Whether ``actual`` is ``recorded`` with each id or placeholder standing in it (a
    URL's, say) replaced by a value of the target's; those are learnt."""
    pattern, unknown, last = [], [], 0
    for found in _EMBEDDED.finditer(recorded):
        pattern.append(re.escape(ids.apply(recorded[last : found.start()])))
        known = ids.get(found.group())
        if known is None:
            pattern.append(r"([A-Za-z0-9_.-]+?)")
            unknown.append(found.group())
        else:
            pattern.append(re.escape(known))
        last = found.end()
    matched = re.fullmatch("".join(pattern) + re.escape(ids.apply(recorded[last:])), actual)
    if not unknown or matched is None:
        return False
    return all(ids.learn(r, a) is None for r, a in zip(unknown, matched.groups(), strict=True))


def compare_text(recorded: str, actual: str, where: str, ids: IdMap) -> list[str]:
    """Two bodies that may be JSON (record bodies, plain answers)."""
    parsed = read_json(recorded.encode()), read_json(actual.encode())
    if NOT_JSON in parsed:
        expected = ids.apply(recorded)
        return (
            []
            if expected == actual
            else [f"{where}: {short(expected)} recorded, {short(actual)} now"]
        )
    return compare_json(parsed[0], parsed[1], where, ids)


def compare_records(
    recorded: list[StreamRecord], actual: list[StreamRecord], where: str, ids: IdMap
) -> list[str]:
    found = []
    for n, (r, a) in enumerate(zip(recorded, actual, strict=False)):
        at = f"{where}[{n}]"
        if r.seq_num != a.seq_num:
            found.append(f"{at}: seq_num {r.seq_num} recorded, {a.seq_num} now")
        before, now = [list(h) for h in r.headers], [list(h) for h in a.headers]
        if [h[0] for h in before] != [h[0] for h in now]:
            found.append(f"{at}.headers: {short(before)} recorded, {short(now)} now")
        else:  # values as JSON strings are: a token, an id, a date may be new
            found += compare_json(before, now, f"{at}.headers", ids)
        found += compare_text(r.body, a.body, f"{at}.body", ids)
    if len(recorded) != len(actual):
        found.append(f"{where}: {len(recorded)} records recorded, {len(actual)} now")
    return found


def compare_stream(recorded: bytes, actual: bytes, ids: IdMap) -> list[str]:
    before, now = read_stream(recorded), read_stream(actual)
    records = now.records if before.done else now.records[: len(before.records)]
    return compare_records(before.records, records, "records", ids)


def without_limiter_timing(value: Any) -> Any:
    """A rate limiter's refusal without what depends on when in its window the request
    came: ``reset`` (an instant) and ``secondsUntilReset`` are only checked to be numbers,
    and the seconds its message names are left out."""
    if isinstance(value, dict):
        return {
            k: "(a number)"
            if k in LIMITER_TIMING_KEYS and isinstance(v, int | float) and not isinstance(v, bool)
            else without_limiter_timing(v)
            for k, v in value.items()
        }
    if isinstance(value, str):
        return _LIMITER_SECONDS.sub("(N) seconds", value)
    return value


def compare_answer(
    interaction: Interaction,
    status: int,
    headers: Headers,
    body: bytes,
    ids: IdMap,
    *,
    cut: bool = False,
) -> list[str]:
    """What differs between the recorded answer and the target's (``cut``: the target
    broke its answer off)."""
    if status != interaction.status:
        return [f"status {interaction.status} recorded, {status} now"]
    found = []
    if interaction.cut != cut:
        found.append("the answer was cut off " + ("then, not now" if interaction.cut else "now"))
    for name, value in interaction.response_headers:
        if PLACEHOLDER.fullmatch(value.strip()):
            given = next((v for k, v in headers if k == name), None)
            if given is not None:
                ids.learn(value.strip(), given.strip())
    if not interaction.complete:
        return found
    if interaction.is_event_stream:
        return found + compare_stream(interaction.response_body, body, ids)
    recorded = interaction.response_json()
    if recorded is not NOT_JSON:
        actual = read_json(body)
        if actual is NOT_JSON:
            return [*found, f"body: JSON recorded, {short(body)} now"]
        if interaction.status == 429 and interaction.response_header("x-ratelimit-reset"):
            recorded, actual = without_limiter_timing(recorded), without_limiter_timing(actual)
        return found + compare_json(recorded, actual, "body", ids)
    text = body.decode("utf-8", "replace")
    before = interaction.response_body.decode("utf-8", "replace")
    return found + compare_text(before, text, "body", ids)
