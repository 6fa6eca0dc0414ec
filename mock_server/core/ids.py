"""Identifier shapes the real API uses, from a source that can be seeded.

* session: ``session_`` + a 25-character lowercase cuid that starts with ``c``; the
  cuid alone is the internal id, which the list endpoint uses as its cursor;
* run: ``run_`` + 26 lowercase base32hex characters (the newer run id shape);
* environment: a cuid derived from the secret key, so it is stable across restarts.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import threading
from typing import Final

from .clock import Clock

SESSION_PREFIX: Final = "session_"
RUN_PREFIX: Final = "run_"
_BASE36: Final = "0123456789abcdefghijklmnopqrstuvwxyz"
_BASE32HEX: Final = "0123456789abcdefghijklmnopqrstuv"
_NANOID: Final = "useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict"
_ALNUM: Final = _BASE36 + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_COUNTER_SPAN: Final = 36**4
_STAMP_SPAN: Final = 36**8


class _Digits:
    """Writes numbers in one alphabet, two digits per division (ids are minted on every
    create: this halves the work of the digit-at-a-time loop)."""

    __slots__ = ("_alphabet", "_base", "_pairs", "_square")

    def __init__(self, alphabet: str) -> None:
        self._alphabet = alphabet
        self._base = len(alphabet)
        self._square = self._base**2
        self._pairs = tuple(high + low for high in alphabet for low in alphabet)

    def encode(self, value: int, width: int) -> str:
        """The lowest ``width`` digits of ``value``, most significant first."""
        pairs, square = self._pairs, self._square
        digits = []
        for _ in range(width // 2):
            value, pair = divmod(value, square)
            digits.append(pairs[pair])
        if width % 2:
            digits.append(self._alphabet[value % self._base])
        digits.reverse()
        return "".join(digits)


_DIGITS: Final = {a: _Digits(a) for a in (_BASE36, _BASE32HEX, _NANOID, _ALNUM)}


_base36: Final = _DIGITS[_BASE36].encode
_base32hex: Final = _DIGITS[_BASE32HEX].encode


def _encode(value: int, alphabet: str, width: int) -> str:
    return _DIGITS[alphabet].encode(value, width)


def is_cuid(value: str) -> bool:
    return len(value) == 25 and value[0] == "c" and all(ch in _BASE36 for ch in value)


def environment_id(secret_key: str) -> str:
    """A cuid-shaped environment id derived from the key (deterministic)."""
    digest = int.from_bytes(hashlib.sha256(secret_key.encode()).digest(), "big")
    return "c" + _encode(digest, _BASE36, 24)


class IdSource:
    """Mints cuids and run ids.

    Unseeded, a cuid follows the classic layout (``c`` + time + counter + fingerprint +
    randomness). With a seed every character comes from a seeded generator and a
    counter, so the same sequence of requests yields the same ids on every run.
    """

    def __init__(self, clock: Clock, seed: int | None = None) -> None:
        self._clock = clock
        self._seed = seed
        self._lock = threading.Lock()
        self._counter = 0
        self._last_stamp = 0
        self._rng: random.Random | None = random.Random(seed) if seed is not None else None
        # Ids need to be unique and unguessable enough for a fake, not cryptographic: a
        # generator seeded from the OS once, not a system call per id (docs/performance.md).
        self._id_rng = self._rng or random.Random(secrets.randbits(128))
        self._fingerprint = _encode(self._id_rng.getrandbits(24), _BASE36, 4)

    @property
    def seed(self) -> int | None:
        return self._seed

    def _random_bits(self, bits: int) -> int:
        if self._rng is not None:
            return self._rng.getrandbits(bits)
        return secrets.randbits(bits)

    def cuid(self) -> str:
        """A cuid larger than every cuid minted before it by this source, so that id
        order is creation order even when the clock is moved backwards."""
        with self._lock:
            self._counter += 1
            if self._rng is not None:
                stamp = self._counter
            else:
                stamp = max(self._clock.now_ms(), self._last_stamp)
                if stamp == self._last_stamp and self._counter % _COUNTER_SPAN == 0:
                    stamp += 1
            self._last_stamp = stamp
            # The stamp's lowest 8 digits and the counter's 4, written in one go.
            head = (stamp % _STAMP_SPAN) * _COUNTER_SPAN + self._counter % _COUNTER_SPAN
            return (
                "c"
                + _base36(head, 12)
                + self._fingerprint
                + _base36(self._id_rng.getrandbits(42), 8)
            )

    def resume_after(self, cuid: str) -> None:
        """Mint only cuids larger than ``cuid`` from now on (ids restored from a file)."""
        stamp = int(cuid[1:9], 36)
        with self._lock:
            if self._rng is not None:
                self._counter = max(self._counter, stamp)
            else:
                self._last_stamp = max(self._last_stamp, stamp + 1)

    def run_id(self) -> str:
        with self._lock:
            return RUN_PREFIX + _base32hex(self._id_rng.getrandbits(130), 26)

    def nanoid(self, length: int) -> str:
        """A nanoid: the server names a part appended without ``X-Part-Id`` with one of
        length 7; longer ones serve as opaque tokens."""
        with self._lock:
            return _encode(self._random_bits(6 * length), _NANOID, length)

    def alnum(self, length: int) -> str:
        """Letters and digits (the tail of a restricted key the control plane makes)."""
        with self._lock:
            return _encode(self._random_bits(6 * length), _ALNUM, length)

    def reset(self) -> None:
        """Restart the sequence (a seeded source then repeats its ids)."""
        with self._lock:
            self._counter = 0
            self._last_stamp = 0
            if self._seed is not None:
                self._rng = self._id_rng = random.Random(self._seed)
                self._fingerprint = _encode(self._id_rng.getrandbits(24), _BASE36, 4)
