"""Public tokens made again for a replay.

A JWT placeholder the target never handed out (the client minted the token itself, with
its secret key, as the SDK does) is replaced by a token with the recorded claims, signed
HS256 with the key of the environment the token named: ``sub`` becomes the target's id
for that environment (``POST /api/v1/auth/jwt/claims``), the scopes name the target's ids,
and it lapses as long after now as the recorded one did after it was issued.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx

from ..auth.tokens import sign_hs256
from .cassette import Cassette, Interaction
from .idmap import IdMap
from .redaction import JWT_PLACEHOLDER

DEFAULT_LIFETIME_SECONDS = 3600


class Minter:
    def __init__(
        self,
        cassette: Cassette,
        base_url: str,
        client: httpx.AsyncClient,
        keys: dict[str, str],
        ids: IdMap,
        note: Callable[[str], None],
    ) -> None:
        self.cassette = cassette
        self.base_url = base_url
        self.client = client
        self.keys = keys
        self.ids = ids
        self.note = note
        self._subs: dict[str, str | None] = {}
        self._lock = asyncio.Lock()

    async def fill_in(self, interaction: Interaction) -> None:
        """Mint every JWT placeholder the request holds that the map has no token for."""
        text = " ".join(
            [interaction.path, interaction.query, *(v for _, v in interaction.request_headers)]
        ) + interaction.request_body.decode("utf-8", "replace")
        for placeholder in dict.fromkeys(JWT_PLACEHOLDER.findall(text)):
            async with self._lock:
                if self.ids.get(placeholder) is None:
                    token = await self.mint(placeholder)
                    if token is not None:
                        self.ids.learn(placeholder, token)

    async def mint(self, placeholder: str) -> str | None:
        claims: dict[str, Any] = self.cassette.claims.get(placeholder) or {}
        sub = claims.get("sub")
        root = self.cassette.environments.get(sub) if isinstance(sub, str) else None
        if root is None:
            self.note(f"{placeholder}: its environment is unknown, so it cannot be minted again")
            return None
        key = self.keys.get(root, root)
        target_sub = await self._target_sub(key)
        if target_sub is not None and isinstance(sub, str):
            self.ids.learn(sub, target_sub)
        now = int(time.time())
        exp, iat = claims.get("exp"), claims.get("iat")
        lifetime = exp - iat if isinstance(exp, int) and isinstance(iat, int) else 0
        payload = {**claims, "sub": target_sub or sub, "iat": now}
        payload["exp"] = now + (lifetime if lifetime > 0 else DEFAULT_LIFETIME_SECONDS)
        scopes = claims.get("scopes")
        if isinstance(scopes, list):
            payload["scopes"] = [self.ids.apply(s) if isinstance(s, str) else s for s in scopes]
        return sign_hs256(payload, key.encode())

    async def _target_sub(self, key: str) -> str | None:
        """The target's id for the environment of ``key``."""
        if key not in self._subs:
            self._subs[key] = None
            try:
                answer = await self.client.post(
                    self.base_url + "/api/v1/auth/jwt/claims",
                    headers={"Authorization": f"Bearer {key}"},
                )
                sub = answer.json().get("sub") if answer.status_code == 200 else None
                self._subs[key] = sub if isinstance(sub, str) else None
            except (httpx.HTTPError, ValueError, AttributeError):
                self.note(f"the target gave no environment id for {key}")
        return self._subs[key]
