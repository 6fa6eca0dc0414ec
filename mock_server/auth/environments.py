"""Environments: each secret key ``tr_(dev|stg|prod|preview)_…`` is one, with a stable id
derived from the key."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from ..core.ids import environment_id
from .errors import InvalidApiKey
from .tokens import bearer_credential, public_token_claims

SECRET_KEY_PATTERN: Final = re.compile(r"^tr_(dev|stg|prod|preview)_[A-Za-z0-9_-]{1,200}$")
KEY_PREFIX: Final = "tr_"


def environment_id_of(key_or_id: str) -> str:
    """The environment a secret key or an environment id names (the control plane and
    the journal take either)."""
    return environment_id(key_or_id) if key_or_id.startswith(KEY_PREFIX) else key_or_id


def claimed_environment(authorization: str | None) -> str | None:
    """The environment an ``Authorization`` header names, without verifying anything: a
    secret key's own, or a public token's ``sub``."""
    credential = bearer_credential(authorization)
    if credential is None:
        return None
    claims = public_token_claims(credential)
    if claims is not None:
        sub = claims.get("sub")
        return sub if isinstance(sub, str) else None
    return environment_id(credential) if credential.startswith(KEY_PREFIX) else None


@dataclass(frozen=True, slots=True)
class Environment:
    id: str
    secret_key: str

    @property
    def kind(self) -> str:
        return self.secret_key.split("_", 2)[1]


class Environments:
    """Which secret keys are accepted. With no configured keys, any well-formed key is
    accepted and becomes its own environment on first use."""

    def __init__(self, allowed_keys: Sequence[str] = ()) -> None:
        for key in allowed_keys:
            if not SECRET_KEY_PATTERN.match(key):
                raise ValueError(f"not a secret key (tr_dev_…, tr_stg_…, …): {key!r}")
        self._open = not allowed_keys
        self._lock = threading.Lock()
        self._by_key: dict[str, Environment] = {}
        self._by_id: dict[str, Environment] = {}
        for key in allowed_keys:
            self._register(key)

    @property
    def is_open(self) -> bool:
        return self._open

    def _register(self, key: str) -> Environment:
        env = Environment(environment_id(key), key)
        self._by_key[key] = env
        self._by_id[env.id] = env
        return env

    def by_key(self, key: str) -> Environment:
        env = self._by_key.get(key)
        if env is not None:
            return env
        if not self._open or not SECRET_KEY_PATTERN.match(key):
            raise InvalidApiKey()
        with self._lock:
            return self._by_key.get(key) or self._register(key)

    def by_id(self, env_id: str) -> Environment | None:
        return self._by_id.get(env_id)

    def known(self) -> list[Environment]:
        return list(self._by_key.values())
