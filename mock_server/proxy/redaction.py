"""Secrets out of a recording: each distinct secret becomes a stable placeholder.

A placeholder stands for one secret everywhere it appears, so a recording stays usable:

- a secret key (``tr_dev_…``, ``tr_stg_…``, ``tr_prod_…``, ``tr_preview_…``) becomes a key
  of the same kind that the fake accepts, ``tr_dev_recorded000000000001``; a restricted key
  (``tr_dev_sk_`` and 24 letters or digits) one of that shape,
  ``tr_dev_sk_recorded0000000000000001``;
- a JWT (a public access token) becomes ``redacted.jwt.N``; its claims are kept (the
  payload is not secret, the signature is), so a replay can mint a token like it;
- an S2 access token (``X-S2-Access-Token`` from a channel's initialize, ``accessToken``
  in JSON, or the fake's ``s2_…`` shape) becomes ``redacted-s2-N``;
- a waitpoint callback URL's signature (``…/callback/<hex>``) becomes
  ``redacted-callback-N``;
- any other credential in ``Authorization`` becomes ``redacted-credential-N``, and each
  cookie ``redacted-cookie-N``.

Keys and tokens are found by their shape in every header value, URL and body; S2 tokens,
which have no shape of their own on the real server, by their values, learnt first
(:meth:`Redactor.learn`) from every exchange of the recording.
"""

from __future__ import annotations

import base64
import re
from typing import Any, Final

import orjson

from ..auth.environments import RESTRICTED_KEY_PATTERN

SECRET_KEY_SHAPE: Final = re.compile(r"tr_(dev|stg|prod|preview)_[A-Za-z0-9_-]+")
JWT_SHAPE: Final = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
FAKE_S2_SHAPE: Final = re.compile(r"s2_[0-9a-f]{40}")
CALLBACK_SIGNATURE: Final = re.compile(r"(?<=/callback/)[0-9a-f]{32,128}(?![0-9A-Za-z])")
"""The signature in a waitpoint's callback URL (``…/callback/<hmac>``), which completes
the waitpoint for whoever holds it."""
JWT_PLACEHOLDER: Final = re.compile(r"redacted\.jwt\.[0-9]+")
S2_PLACEHOLDER: Final = re.compile(r"redacted-s2-[0-9]+")
S2_TOKEN_HEADER: Final = "x-s2-access-token"
CREDENTIAL_HEADERS: Final = frozenset({"authorization", "proxy-authorization"})
COOKIE_HEADERS: Final = frozenset({"cookie", "set-cookie"})
_BEARER: Final = "Bearer "


def is_key_placeholder(value: str) -> bool:
    """Whether ``value`` is a key this module made (``tr_…_recorded…``)."""
    kind_and_rest = value.split("_", 2)
    return len(kind_and_rest) == 3 and "recorded" in kind_and_rest[2][:12]


def jwt_claims(token: str) -> dict[str, Any] | None:
    """The (unverified) payload of a JWT, if it is a JSON object."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def _json_strings(value: Any, name: str) -> list[str]:
    """Every string held under the key ``name``, anywhere in a JSON value."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == name and isinstance(item, str):
                found.append(item)
            else:
                found += _json_strings(item, name)
    elif isinstance(value, list):
        for item in value:
            found += _json_strings(item, name)
    return found


class Redactor:
    """Maps secrets to placeholders, the same placeholder for the same secret each time."""

    def __init__(self) -> None:
        self._placeholders: dict[str, str] = {}
        """Secret → placeholder, for every kind."""
        self._counts: dict[str, int] = {}
        self.claims: dict[str, dict[str, Any]] = {}
        """JWT placeholder → the token's claims."""
        self._known_s2: set[str] = set()
        self._literal: re.Pattern[str] | None = None

    # --- learning -----------------------------------------------------------------------

    def learn_s2_token(self, token: str) -> None:
        """A value that is an S2 access token wherever it appears."""
        if token and token not in self._known_s2:
            self._known_s2.add(token)
            self._literal = None

    def learn(self, response_headers: list[tuple[str, str]], response_json: Any) -> None:
        """The S2 tokens an answer hands out: its ``X-S2-Access-Token`` header and every
        ``accessToken`` in its JSON."""
        for name, value in response_headers:
            if name == S2_TOKEN_HEADER:
                self.learn_s2_token(value.strip())
        for token in _json_strings(response_json, "accessToken"):
            self.learn_s2_token(token)

    # --- placeholders -------------------------------------------------------------------

    def _next(self, kind: str) -> int:
        self._counts[kind] = self._counts.get(kind, 0) + 1
        return self._counts[kind]

    def _placeholder(self, secret: str, make: str) -> str:
        found = self._placeholders.get(secret)
        if found is None:
            restricted = make == "key" and bool(RESTRICTED_KEY_PATTERN.match(secret))
            n = self._next("restricted" if restricted else make)
            if make == "key":
                kind = secret.split("_", 2)[1]
                found = (
                    f"tr_{kind}_sk_recorded{n:016d}"
                    if restricted
                    else f"tr_{kind}_recorded{n:012d}"
                )
            elif make == "jwt":
                found = f"redacted.jwt.{n}"
                claims = jwt_claims(secret)
                if claims is not None:
                    self.claims[found] = claims
            else:
                found = f"redacted-{make}-{n}"
            self._placeholders[secret] = found
        return found

    @property
    def keys(self) -> list[str]:
        """The key placeholders made so far, in order."""
        return [p for p in self._placeholders.values() if p.startswith("tr_")]

    # --- redacting ----------------------------------------------------------------------

    def _literal_pattern(self) -> re.Pattern[str] | None:
        if self._literal is None and self._known_s2:
            alternatives = sorted(self._known_s2, key=len, reverse=True)
            self._literal = re.compile("|".join(re.escape(a) for a in alternatives))
        return self._literal

    def text(self, value: str) -> str:
        """``value`` with every secret in it replaced."""
        literal = self._literal_pattern()
        if literal is not None:
            value = literal.sub(lambda m: self._placeholder(m.group(), "s2"), value)
        value = JWT_SHAPE.sub(lambda m: self._placeholder(m.group(), "jwt"), value)
        value = FAKE_S2_SHAPE.sub(lambda m: self._placeholder(m.group(), "s2"), value)
        value = CALLBACK_SIGNATURE.sub(lambda m: self._placeholder(m.group(), "callback"), value)
        return SECRET_KEY_SHAPE.sub(lambda m: self._placeholder(m.group(), "key"), value)

    def credential(self, credential: str) -> str:
        """A credential as a whole: a known shape's placeholder, else one of its own."""
        redacted = self.text(credential)
        if redacted != credential and (
            JWT_PLACEHOLDER.fullmatch(redacted)
            or S2_PLACEHOLDER.fullmatch(redacted)
            or redacted in self._placeholders.values()
        ):
            return redacted
        return self._placeholder(credential, "credential") if credential else credential

    def header(self, name: str, value: str) -> str:
        """A header's value (``name`` in lower case)."""
        if name in CREDENTIAL_HEADERS:
            scheme = _BEARER if value.startswith(_BEARER) else ""
            return scheme + self.credential(value[len(scheme) :].strip())
        if name in COOKIE_HEADERS:
            return self._placeholder(value, "cookie")
        if name == S2_TOKEN_HEADER:
            return self.credential(value.strip())
        return self.text(value)

    def data(self, raw: bytes) -> bytes:
        """A body: as UTF-8 text if it is, else byte for byte (placeholders are ASCII)."""
        try:
            return self.text(raw.decode("utf-8")).encode("utf-8")
        except UnicodeDecodeError:
            return self.text(raw.decode("latin-1")).encode("latin-1")
