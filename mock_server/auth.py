"""Credentials: secret keys (one environment each) and public access tokens (JWTs).

A secret key ``tr_(dev|stg|prod|preview)_…`` is an environment. Public tokens are HS256
JWTs signed with that key's UTF-8 bytes, carrying ``pub: true``, ``sub`` = environment
id and ``scopes``; they are verified on every request against the fake's clock, with the
algorithm pinned.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import threading
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import jwt
import orjson

from .clock import Clock
from .errors import InvalidApiKey, InvalidPublicToken, MissingScope, UnknownTokenEnvironment
from .ids import environment_id
from .models import Session
from .scopes import Ability, Resource

JWT_ISSUER: Final = "https://id.trigger.dev"
JWT_AUDIENCE: Final = "https://api.trigger.dev"
JWT_ALGORITHM: Final = "HS256"
_HS256_HEADER: Final = base64.urlsafe_b64encode(b'{"alg":"HS256"}').rstrip(b"=")


def sign_hs256(payload: dict[str, Any], key: bytes) -> str:
    """The compact HS256 JWT of ``payload``, byte for byte what ``jwt.encode(payload, key,
    algorithm="HS256", headers={"typ": None})`` makes, in a third of its time (PyJWT
    re-checks and re-prepares the key on every call; create signs a token every time)."""
    body = orjson.dumps(payload)
    if not body.isascii():  # PyJWT's json.dumps escapes what orjson writes as UTF-8
        body = json.dumps(payload, separators=(",", ":")).encode()
    signing_input = _HS256_HEADER + b"." + base64.urlsafe_b64encode(body).rstrip(b"=")
    signature = hmac.digest(key, signing_input, "sha256")
    return (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()


SESSION_TOKEN_SECONDS: Final = 3600
MAX_CREDENTIAL_CHARS: Final = 16_384
SECRET_KEY_PATTERN: Final = re.compile(r"^tr_(dev|stg|prod|preview)_[A-Za-z0-9_-]{1,200}$")

# Trigger.dev signs tokens with its API keys, which are shorter than the 32 bytes RFC 7518
# recommends for HS256; PyJWT would warn on every token.
warnings.filterwarnings("ignore", category=jwt.InsecureKeyLengthWarning)


def bearer_credential(header: str | None) -> str | None:
    """The credential in an ``Authorization`` header, read as the real server does:
    a leading ``Bearer `` is dropped and the rest trimmed. ``None`` when there is none."""
    if header is None:
        return None
    value = header.removeprefix("Bearer ").strip()
    return value or None


def public_token_claims(token: str) -> dict[str, Any] | None:
    """The unverified payload of ``token`` if it is a public JWT (``pub: true``)."""
    parts = token.split(".")
    if len(parts) != 3 or len(token) > MAX_CREDENTIAL_CHARS:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError, RecursionError):
        return None
    if isinstance(payload, dict) and payload.get("pub") is True:
        return payload
    return None


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


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an environment, and what the credential allows there."""

    environment: Environment
    ability: Ability
    is_public_token: bool

    def require_any(self, action: str, resources: Sequence[Resource]) -> None:
        if not self.ability.can_any(action, resources):
            raise MissingScope()

    def require_every(
        self, action: str, resources: Sequence[Resource], *, otherwise: Sequence[Resource]
    ) -> None:
        if not self.ability.can_every(action, resources, otherwise=otherwise):
            raise MissingScope()


class Authenticator:
    """Turns credentials into principals and mints the tokens create hands out."""

    def __init__(self, environments: Environments, clock: Clock) -> None:
        self.environments = environments
        self._clock = clock

    def secret_key(self, credential: str) -> Principal:
        env = self.environments.by_key(credential)
        return Principal(env, Ability.everything(), is_public_token=False)

    def public_token(self, credential: str, claims: dict[str, Any]) -> Principal:
        """Verify a public JWT whose unverified ``claims`` were already read."""
        sub = claims.get("sub")
        env = self.environments.by_id(sub) if isinstance(sub, str) else None
        if env is None:
            raise UnknownTokenEnvironment()
        try:
            verified = jwt.decode(
                credential,
                key=env.secret_key.encode(),
                algorithms=[JWT_ALGORITHM],
                issuer=JWT_ISSUER,
                audience=JWT_AUDIENCE,
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.PyJWTError as exc:
            raise InvalidPublicToken() from exc
        self._check_times(verified)
        scopes = verified.get("scopes")
        granted = [s for s in scopes if isinstance(s, str)] if isinstance(scopes, list) else []
        return Principal(env, Ability(granted), is_public_token=True)

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = self._clock.now_ms() // 1000
        for name in ("exp", "nbf", "iat"):
            value = claims.get(name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise InvalidPublicToken()
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if exp is not None and exp <= now:
            raise InvalidPublicToken()
        if nbf is not None and nbf > now:
            raise InvalidPublicToken()

    def claims(self, env: Environment) -> dict[str, Any]:
        """What ``POST /api/v1/auth/jwt/claims`` returns."""
        return {"sub": env.id, "pub": True}

    def sign(self, env: Environment, scopes: Iterable[str], *, seconds: int) -> str:
        issued = self._clock.now_ms() // 1000
        payload = {
            "sub": env.id,
            "pub": True,
            "scopes": list(scopes),
            "iss": JWT_ISSUER,
            "aud": JWT_AUDIENCE,
            "exp": issued + seconds,
            "iat": issued,
        }
        return sign_hs256(payload, env.secret_key.encode())

    def session_token(self, env: Environment, session: Session) -> str:
        """The one-hour token create returns, scoped to the session's addressing key."""
        key = session.addressing_key
        return self.sign(
            env, [f"read:sessions:{key}", f"write:sessions:{key}"], seconds=SESSION_TOKEN_SECONDS
        )
