"""Bearer credentials and JWTs: reading the ``Authorization`` header, peeking into a public
token's claims, and signing HS256 tokens."""

from __future__ import annotations

import base64
import hmac
import json
import warnings
from typing import Any, Final

import jwt
import orjson

JWT_ISSUER: Final = "https://id.trigger.dev"
JWT_AUDIENCE: Final = "https://api.trigger.dev"
JWT_ALGORITHM: Final = "HS256"
HMAC_ALGORITHMS: Final = frozenset({"HS256", "HS384", "HS512"})
MAX_CREDENTIAL_CHARS: Final = 16_384
_HS256_HEADER: Final = base64.urlsafe_b64encode(b'{"alg":"HS256"}').rstrip(b"=")

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


def sign_hs256(payload: dict[str, Any], key: bytes) -> str:
    """The compact HS256 JWT of ``payload``, byte for byte what ``jwt.encode(payload, key,
    algorithm="HS256", headers={"typ": None})`` makes, without PyJWT's per-call key checks
    (create signs a token every time)."""
    body = orjson.dumps(payload)
    if not body.isascii():  # PyJWT's json.dumps escapes what orjson writes as UTF-8
        body = json.dumps(payload, separators=(",", ":")).encode()
    signing_input = _HS256_HEADER + b"." + base64.urlsafe_b64encode(body).rstrip(b"=")
    signature = hmac.digest(key, signing_input, "sha256")
    return (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()


def verify_hmac(token: str, key: bytes, algorithms: frozenset[str]) -> dict[str, Any]:
    """The claims of a token signed with ``key`` by one of ``algorithms`` (HMAC only), for
    the Trigger.dev issuer and audience; times are left to the caller's clock. Raises
    ``jwt.PyJWTError``."""
    claims: dict[str, Any] = jwt.decode(
        token,
        key=key,
        algorithms=sorted(algorithms),
        issuer=JWT_ISSUER,
        audience=JWT_AUDIENCE,
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    return claims
