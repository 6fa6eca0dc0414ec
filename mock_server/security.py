"""Connexion security handlers for the spec's bearer schemes.

``openapi.yaml`` declares two bearer schemes, ``secretKey`` and ``publicAccessToken``
(``bearerFormat: JWT``), and each operation lists the ones it accepts; Connexion runs the
matching handler(s) below and hands the principal to the operation as ``token_info``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from connexion.lifecycle import ConnexionRequest
from connexion.middleware.abstract import ROUTING_CONTEXT
from connexion.security import NO_VALUE, BearerSecurityHandler

from .auth import Authenticator, Environments, Principal, bearer_credential, public_token_claims
from .channel_errors import S2Unauthorized
from .errors import AdminTokenRequired, InvalidApiKey
from .s2 import s2_access_token

Verifier = Callable[[ConnexionRequest], Awaitable[Any]]


def token_info(principal: Principal) -> dict[str, Any]:
    """What an operation gets as ``token_info`` (Connexion's ``user`` is its ``sub``)."""
    return {"sub": principal.environment.id, "principal": principal}


def _operation_id(request: ConnexionRequest) -> str | None:
    routing = request.scope.get("extensions", {}).get(ROUTING_CONTEXT, {})
    return routing.get("operation_id")  # type: ignore[no-any-return]


def api_security_handler(
    authenticator: Authenticator,
    *,
    public_operations: frozenset[str],
    extra_public_operations: frozenset[str],
) -> type[BearerSecurityHandler]:
    """A bearer handler class bound to ``authenticator``.

    ``public_operations`` are those whose spec security lists ``publicAccessToken``;
    ``extra_public_operations`` are the ones where the mode also takes a public token
    although the spec asks for a secret key.
    """

    class ApiBearer(BearerSecurityHandler):  # type: ignore[misc]
        def get_fn(self, security_scheme: dict[str, Any], required_scopes: Any) -> Verifier:
            is_jwt_scheme = security_scheme.get("bearerFormat") == "JWT"
            return self._public_token if is_jwt_scheme else self._secret_key

        @staticmethod
        async def _secret_key(request: ConnexionRequest) -> Any:
            credential = bearer_credential(request.headers.get("authorization"))
            if credential is None:
                return NO_VALUE
            claims = public_token_claims(credential)
            if claims is None:
                return token_info(authenticator.secret_key(credential))
            operation = _operation_id(request)
            if operation in public_operations:
                return NO_VALUE  # the publicAccessToken scheme takes it from here
            if operation in extra_public_operations:
                return token_info(authenticator.public_token(credential, claims))
            raise InvalidApiKey()

        @staticmethod
        async def _public_token(request: ConnexionRequest) -> Any:
            credential = bearer_credential(request.headers.get("authorization"))
            claims = None if credential is None else public_token_claims(credential)
            if credential is None or claims is None:
                return NO_VALUE
            return token_info(authenticator.public_token(credential, claims))

    return ApiBearer


def s2_security_handler(environments: Environments) -> type[BearerSecurityHandler]:
    """A bearer handler for the fake's S2 endpoint: the access token initialize handed
    out names its environment."""

    class S2Bearer(BearerSecurityHandler):  # type: ignore[misc]
        def get_fn(self, security_scheme: dict[str, Any], required_scopes: Any) -> Verifier:
            async def verify(request: ConnexionRequest) -> Any:
                token = bearer_credential(request.headers.get("authorization"))
                for env in environments.known():
                    if token == s2_access_token(env):
                        return {"sub": env.id, "environment": env}
                raise S2Unauthorized()

            return verify

    return S2Bearer


def admin_security_handler(admin_token: str) -> type[BearerSecurityHandler]:
    """A bearer handler for the control plane: the exact ``--admin-token`` or 401."""

    class AdminBearer(BearerSecurityHandler):  # type: ignore[misc]
        def get_fn(self, security_scheme: dict[str, Any], required_scopes: Any) -> Verifier:
            async def verify(request: ConnexionRequest) -> Any:
                if bearer_credential(request.headers.get("authorization")) != admin_token:
                    raise AdminTokenRequired()
                return {"sub": "admin"}

            return verify

    return AdminBearer
