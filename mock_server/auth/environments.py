"""Environments: each secret key ``tr_(dev|stg|prod|preview)_…`` is one, with a stable id
derived from the key. A restricted key (``tr_dev_sk_`` and 24 letters or digits, declared
with its scopes) is an additional key of an environment: it acts there within its scopes."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from ..core.ids import environment_id
from ..core.limits import BoundCounts, Limits
from .errors import EnvironmentLimitReached, InvalidApiKey
from .tokens import bearer_credential, public_token_claims

SECRET_KEY_PATTERN: Final = re.compile(r"^tr_(dev|stg|prod|preview)_[A-Za-z0-9_-]{1,200}$")
RESTRICTED_KEY_PATTERN: Final = re.compile(r"^tr_(dev|stg|prod|preview)_sk_[0-9A-Za-z]{24}$")
"""The shape the SDK recognises an additional key by (it then asks the server to mint)."""
SCOPE_PATTERN: Final = re.compile(r"^[A-Za-z*]+(:[^\s,]+)?$")
KEY_PREFIX: Final = "tr_"


def parse_key_spec(spec: str) -> tuple[str, tuple[str, ...] | None]:
    """``KEY`` (a root key) or ``KEY=SCOPE,SCOPE`` (a restricted key); ``ValueError`` says
    what is wrong."""
    key, sep, scope_text = spec.partition("=")
    if not SECRET_KEY_PATTERN.match(key):
        raise ValueError(f"not a secret key (tr_dev_…, tr_stg_…, …): {key!r}")
    if not sep:
        return key, None
    return key, restricted_scopes(key, scope_text.split(","))


def restricted_scopes(key: str, scopes: Sequence[object]) -> tuple[str, ...]:
    if not RESTRICTED_KEY_PATTERN.match(key):
        raise ValueError(
            f"{key!r}: a key with scopes must look like tr_dev_sk_ and 24 letters or digits "
            "(the SDK recognises additional keys by that shape)"
        )
    checked = tuple(s for s in scopes if isinstance(s, str) and SCOPE_PATTERN.match(s))
    if not checked or len(checked) != len(scopes):
        raise ValueError(f"{key!r}: scopes are action:type[:id] (read:sessions, admin, …)")
    return checked


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
    """Which secret keys are accepted. With no configured root keys, any well-formed key
    is accepted and becomes its own environment on first use. A restricted key belongs to
    the environment of the first root key of its kind declared with it (``tr_dev_…`` for
    ``tr_dev_sk_…``), else to one of its own."""

    def __init__(
        self,
        keys: Sequence[str] = (),
        *,
        limits: Limits | None = None,
        bounds: BoundCounts | None = None,
    ) -> None:
        """``keys``: ``KEY`` or ``KEY=SCOPE,SCOPE`` specs (:func:`parse_key_spec`).
        ``limits``: read for ``max_environments`` when a new key makes one."""
        specs = [parse_key_spec(spec) for spec in keys]
        self.limits = limits or Limits()
        self.bounds = bounds or BoundCounts()
        self._by_use: set[str] = set()
        """Keys that made their environment by being used (an open fake): the ones
        ``max_environments`` counts, and a full reset forgets."""
        self._open = not any(scopes is None for _, scopes in specs)
        self._lock = threading.Lock()
        self._by_key: dict[str, Environment] = {}
        self._by_id: dict[str, Environment] = {}
        self._scopes: dict[str, tuple[str, ...]] = {}
        self._passing: set[str] = set()
        for key, scopes in specs:
            if scopes is None:
                self._register(key)
        for key, scopes in specs:
            if scopes is not None:
                self.restrict(key, scopes)

    @property
    def is_open(self) -> bool:
        return self._open

    def _register(self, key: str) -> Environment:
        env = Environment(environment_id(key), key)
        self._by_key[key] = env
        self._by_id[env.id] = env
        return env

    def restrict(
        self, key: str, scopes: Sequence[str], root: str | None = None, *, lasting: bool = True
    ) -> Environment:
        """Accept ``key`` with only ``scopes``, in ``root``'s environment (by default the
        first root key of its kind, else its own). A key that is not ``lasting`` (added at
        run time) goes at the next full reset."""
        kind = key.split("_", 2)[1]
        with self._lock:
            if not lasting:
                self._passing.add(key)
            if root is None:
                root = next(
                    (k for k, e in self._by_key.items() if e.secret_key == k and e.kind == kind),
                    None,
                )
            env = self._by_key.get(root) if root else None
            if env is None:
                env = self._register(root or key)
            self._by_key[key] = env
            self._scopes[key] = tuple(scopes)
            return env

    def forget_passing(self) -> None:
        """Drop the restricted keys added at run time, and the environments that keys
        made by being used (a full reset; such a key makes its environment again, with the
        same id, when next used)."""
        with self._lock:
            for key in self._passing:
                self._scopes.pop(key, None)
                self._by_key.pop(key, None)
            self._passing = set()
            for key in self._by_use:
                env = self._by_key.pop(key, None)
                if env is not None and self._by_id.get(env.id) is env:
                    del self._by_id[env.id]
            self._by_use = set()

    def scopes_of(self, key: str) -> tuple[str, ...] | None:
        """A restricted key's scopes; ``None`` for a root key (it may do everything)."""
        return self._scopes.get(key)

    def by_key(self, key: str, *, counted: bool = True) -> Environment:
        """The key's environment; in an open fake a new key makes one, up to
        ``max_environments``. A refusal beyond it is counted unless not ``counted`` (a
        caller that hands the request on to be asked again, as the fast lane does)."""
        env = self._by_key.get(key)
        if env is not None:
            return env
        if not self._open or not SECRET_KEY_PATTERN.match(key):
            raise InvalidApiKey()
        with self._lock:
            found = self._by_key.get(key)
            if found is not None:
                return found
            if len(self._by_use) >= self.limits.max_environments:
                self.bounds.refused_environments += counted
                raise EnvironmentLimitReached(self.limits.max_environments)
            self._by_use.add(key)
            return self._register(key)

    def by_id(self, env_id: str) -> Environment | None:
        return self._by_id.get(env_id)

    def known(self) -> list[Environment]:
        """Every environment, once each."""
        return list(self._by_id.values())

    def accept(self, key: str, *, made_by_use: bool = False) -> Environment:
        """Accept ``key`` whatever ``max_environments`` says (a seed file's, a state
        file's). A seed's key counts as given at start: not counted, not forgotten by a
        reset. A state file's key not otherwise known (``made_by_use``) made its
        environment by being used in an earlier run, and still counts as such. As
        :meth:`by_key`, :class:`InvalidApiKey` for a key a closed fake does not list."""
        known = self._by_key.get(key)
        if known is None and (not self._open or not SECRET_KEY_PATTERN.match(key)):
            raise InvalidApiKey()
        with self._lock:
            if not made_by_use:
                self._by_use.discard(key)
            elif known is None:
                self._by_use.add(key)
            return self._by_key.get(key) or self._register(key)

    @property
    def made_by_use(self) -> int:
        """Environments that keys made by being used (what ``max_environments`` counts)."""
        return len(self._by_use)
