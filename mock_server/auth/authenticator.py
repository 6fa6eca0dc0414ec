"""Turning credentials into principals (who calls, and what they may do), and minting the
tokens create hands out. Tokens are verified on every request against the fake's clock."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import jwt

from ..core.clock import Clock
from .environments import Environment, Environments
from .errors import InvalidPublicToken, MissingScope, UnknownTokenEnvironment
from .scopes import Ability, Resource
from .tokens import JWT_ALGORITHM, JWT_AUDIENCE, JWT_ISSUER, sign_hs256, verify_hmac

SESSION_TOKEN_SECONDS: Final = 3600


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an environment, and what the credential allows there."""

    environment: Environment
    ability: Ability
    is_public_token: bool

    def require_any(self, action: str, resources: Sequence[Resource]) -> None:
        if not self.ability.can_any(action, resources):
            raise MissingScope(restricted_key=not self.is_public_token)

    def require_every(
        self, action: str, resources: Sequence[Resource], *, otherwise: Sequence[Resource]
    ) -> None:
        if not self.ability.can_every(action, resources, otherwise=otherwise):
            raise MissingScope(restricted_key=not self.is_public_token)


class Authenticator:
    def __init__(
        self,
        environments: Environments,
        clock: Clock,
        *,
        algorithms: frozenset[str] = frozenset({JWT_ALGORITHM}),
    ) -> None:
        """``algorithms``: the JWT algorithms public tokens may be signed with."""
        self.environments = environments
        self._clock = clock
        self._algorithms = algorithms

    def secret_key(self, credential: str, *, counted: bool = True) -> Principal:
        """The principal of a secret key (``counted``: see :meth:`Environments.by_key`)."""
        env = self.environments.by_key(credential, counted=counted)
        scopes = self.environments.scopes_of(credential)
        ability = Ability.everything() if scopes is None else Ability(scopes)
        return Principal(env, ability, is_public_token=False)

    def public_token(self, credential: str, claims: dict[str, Any]) -> Principal:
        """Verify a public JWT whose unverified ``claims`` were already read."""
        sub = claims.get("sub")
        env = self.environments.by_id(sub) if isinstance(sub, str) else None
        if env is None:
            raise UnknownTokenEnvironment()
        try:
            verified = verify_hmac(credential, env.secret_key.encode(), self._algorithms)
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

    def sign(
        self,
        env: Environment,
        scopes: Iterable[str],
        *,
        seconds: int | None = None,
        expires_at: float | None = None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """A public token for ``env``, lapsing ``seconds`` from now or at ``expires_at``
        (epoch seconds), with ``extra`` claims."""
        issued = self._clock.now_ms() // 1000
        payload = {
            "sub": env.id,
            "pub": True,
            "scopes": list(scopes),
            **(extra or {}),
            "iss": JWT_ISSUER,
            "aud": JWT_AUDIENCE,
            "exp": expires_at if expires_at is not None else issued + (seconds or 0),
            "iat": issued,
        }
        return sign_hs256(payload, env.secret_key.encode())

    def now_seconds(self) -> int:
        return self._clock.now_ms() // 1000

    def session_token(self, env: Environment, addressing_key: str) -> str:
        """The one-hour token create returns, scoped to the session's addressing key (its
        externalId, else its id)."""
        scopes = [f"read:sessions:{addressing_key}", f"write:sessions:{addressing_key}"]
        return self.sign(env, scopes, seconds=SESSION_TOKEN_SECONDS)
