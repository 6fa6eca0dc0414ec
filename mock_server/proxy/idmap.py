"""What a replay learns: which value on the target stands for each recorded one.

The upstream minted ids (``session_…``, ``run_…``, ``waitpoint_…``, environment ids, part
ids) and tokens the target mints afresh; placeholders stand for secrets. Each recorded
value maps to the value the target gave in the same place of the same answer, learnt the
first time, and must map to it every time after (and no two recorded values to one target
value, but for tokens). Ids and placeholders are then replaced in the requests that follow.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

SUBSTITUTED: Final = re.compile(
    r"(?:session|run|waitpoint)_[A-Za-z0-9]+|c[a-z0-9]{24}|redacted\.jwt\.[0-9]+"
    r"|redacted-s2-[0-9]+|redacted-credential-[0-9]+|redacted-callback-[0-9]+"
    r"|tr_[a-z]+_[A-Za-z0-9_]+"
)
"""Recorded values replaced wherever they appear in a later request (part ids and other
short values are only checked, never replaced)."""
_TOKEN: Final = re.compile(r"redacted\.jwt\.[0-9]+")
"""Tokens may share a target value: two the upstream signed a second apart (``iat``) can
be one token on a target that signs them within the same second."""
_BEFORE: Final = r"(?<![A-Za-z0-9_.-])"
_AFTER: Final = r"(?![A-Za-z0-9_])"


class IdMap:
    def __init__(self, given: Mapping[str, str] | None = None) -> None:
        """``given``: values known beforehand (placeholder keys → the target's keys)."""
        self.values: dict[str, str] = {}
        self._aliases: dict[str, str] = {}
        self._recorded_for: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None
        self._replacing: dict[str, str] = {}
        self._stale = True
        for recorded, actual in (given or {}).items():
            self.learn(recorded, actual)

    def learn(self, recorded: str, actual: str) -> str | None:
        """Map ``recorded`` to ``actual``; what is wrong if it contradicts the map."""
        known = self.values.get(recorded)
        if known is not None:
            return None if known == actual else f"{recorded} stood for {known}, now {actual}"
        other = self._recorded_for.get(actual)
        if other is not None and other != recorded and not _TOKEN.fullmatch(recorded):
            return f"{actual} stands for both {other} and {recorded}"
        self.values[recorded] = actual
        self._recorded_for[actual] = recorded
        if SUBSTITUTED.fullmatch(recorded) and recorded != actual:
            self._stale = True
        return None

    def alias(self, recorded: str, actual: str) -> None:
        """Replace the text ``recorded`` by ``actual`` wherever it stands on its own (the
        upstream's own URL, which answers name, becomes the target's)."""
        if recorded and recorded != actual:
            self._aliases[recorded] = actual
            self._stale = True

    def get(self, recorded: str) -> str | None:
        return self.values.get(recorded)

    def apply(self, text: str) -> str:
        """``text`` with every replaceable recorded value it holds replaced."""
        if self._stale:
            self._replacing = {
                **{r: a for r, a in self.values.items() if r != a and SUBSTITUTED.fullmatch(r)},
                **self._aliases,
            }
            replaced = sorted(self._replacing, key=len, reverse=True)
            alternatives = "|".join(re.escape(r) for r in replaced)
            self._pattern = re.compile(f"{_BEFORE}(?:{alternatives}){_AFTER}") if replaced else None
            self._stale = False
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self._replacing[m.group()], text)
