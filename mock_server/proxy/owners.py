"""Which environment a recorded request acted in, named by its (placeholder) secret key.

A root key names its own environment. A public token names one by its ``sub`` claim, an
environment id; a restricted key acts in its root key's, or, when the recording links it
to none, in one of its own, named by the restricted key. The recording links ids to keys
where the traffic shows them together: a token in the answer to a key's request (create's
``publicAccessToken``, a minted token), ``POST /api/v1/auth/jwt/claims``, and the control
plane's ``environment`` fields and environment ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final
from urllib.parse import parse_qs

from ..auth.environments import RESTRICTED_KEY_PATTERN, SECRET_KEY_PATTERN
from ..auth.tokens import bearer_credential
from .cassette import Interaction
from .redaction import JWT_PLACEHOLDER

CLAIMS_PATH: Final = "/api/v1/auth/jwt/claims"
_CONTROL_SESSIONS: Final = re.compile(r"^/_mock/sessions$")
_RESTRICTED_KEYS: Final = "/_mock/restricted-keys"


def strings(value: Any) -> Iterable[str]:
    """Every string in a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def is_root_key(value: str) -> bool:
    return bool(SECRET_KEY_PATTERN.match(value)) and not RESTRICTED_KEY_PATTERN.match(value)


def credential_of(interaction: Interaction) -> str | None:
    return bearer_credential(interaction.request_header("authorization"))


def named_environment(interaction: Interaction) -> str | None:
    """The control plane's ``environment`` (a key or an environment id), from the query or
    the JSON body."""
    found = parse_qs(interaction.query).get("environment")
    if found:
        return found[0]
    body = interaction.request_json()
    value = body.get("environment") if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


class Owners:
    """Environment ids and restricted keys, linked to the root keys they belong to."""

    def __init__(self, claims: dict[str, dict[str, Any]]) -> None:
        self.claims = claims
        self.subs: dict[str, str] = {}
        """Recorded environment id → root placeholder key."""
        self.restricted: dict[str, str] = {}
        """Restricted key → root key."""
        self.scopes: dict[str, list[str]] = {}
        """Restricted key → its scopes, where the recording showed them."""
        self._restricted_subs: dict[str, str] = {}

    def _sub_of(self, token: str) -> str | None:
        sub = self.claims.get(token, {}).get("sub")
        return sub if isinstance(sub, str) else None

    def learn(self, interactions: Iterable[Interaction]) -> None:
        for i in interactions:
            if not 200 <= i.status < 300:
                continue
            answer = i.response_json()
            credential = credential_of(i)
            subs = [self._sub_of(s) for s in strings(answer) if JWT_PLACEHOLDER.fullmatch(s)]
            if i.path == CLAIMS_PATH and isinstance(answer, dict):
                subs.append(answer.get("sub") if isinstance(answer.get("sub"), str) else None)
            for sub in filter(None, subs):
                if credential is not None and is_root_key(credential):
                    self.subs.setdefault(sub, credential)
                elif credential is not None and RESTRICTED_KEY_PATTERN.match(credential):
                    self._restricted_subs.setdefault(credential, sub)
            self._learn_control(i, answer)
        for key, sub in self._restricted_subs.items():
            self.subs.setdefault(sub, self.environment(key) or key)

    def _learn_control(self, i: Interaction, answer: Any) -> None:
        named = named_environment(i)
        root = None if named is None else self.environment(named)
        if root is None or not isinstance(answer, dict):
            return
        if _CONTROL_SESSIONS.match(i.path):
            for env in answer.get("environments") or []:
                if isinstance(env, dict) and isinstance(env.get("id"), str):
                    self.subs.setdefault(env["id"], root)
        elif i.path == _RESTRICTED_KEYS and isinstance(answer.get("key"), str):
            self.restricted[answer["key"]] = root
            self.scopes[answer["key"]] = [str(s) for s in answer.get("scopes") or []]
            if isinstance(answer.get("environment"), str):
                self.subs.setdefault(answer["environment"], root)

    def environment(self, key_or_id: str) -> str | None:
        """The root key of the environment a key or an environment id names. A restricted
        key no root key is linked to names an environment of its own, as on a fake that
        declares it without its root key."""
        if is_root_key(key_or_id):
            return key_or_id
        if RESTRICTED_KEY_PATTERN.match(key_or_id):
            found = self.restricted.get(key_or_id)
            sub = self._restricted_subs.get(key_or_id)
            root = self.subs.get(sub) if sub is not None else None
            return found or root or key_or_id
        return self.subs.get(key_or_id)

    def of(self, interaction: Interaction) -> str | None:
        """The root key of the environment the request acted in, if the recording shows it."""
        if interaction.path.startswith("/_mock/"):
            named = named_environment(interaction)
            return None if named is None else self.environment(named)
        credential = credential_of(interaction)
        if credential is None:
            return None
        if JWT_PLACEHOLDER.fullmatch(credential):
            sub = self._sub_of(credential)
            return None if sub is None else self.subs.get(sub)
        return self.environment(credential)
