"""Connexion security handlers for the spec's bearer schemes.

``openapi.yaml`` declares two bearer schemes, ``secretKey`` and ``publicAccessToken``
(``bearerFormat: JWT``), and each operation lists the ones it accepts; Connexion runs the
matching handler(s) below and hands the principal to the operation as ``token_info``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

from connexion.lifecycle import ConnexionRequest
from connexion.security import NO_VALUE, BearerSecurityHandler

from ..auth.authenticator import Authenticator, Principal
from ..auth.environments import Environment, Environments
from ..auth.errors import AdminTokenRequired, ClaimsRefused, InvalidApiKey
from ..auth.tokens import bearer_credential, public_token_claims
from ..channels.errors import S2Unauthorized
from ..core.errors import ApiError
from ..s2.names import environment_of_token
from .connexion_internals import routed_operation_id

CLAIMS: Final = "generate_jwt_claims_v1"

SECRET_KEY_SCHEME: Final = "secretKey"
PUBLIC_TOKEN_SCHEME: Final = "publicAccessToken"
Verifier = Callable[[ConnexionRequest], Awaitable[Any]]


def token_info(principal: Principal) -> dict[str, Any]:
    """What an operation gets as ``token_info`` (Connexion's ``user`` is its ``sub``)."""
    return {"sub": principal.environment.id, "principal": principal}


def principal_of(token_info: dict[str, Any]) -> Principal:
    """The principal :func:`token_info` wrapped."""
    principal = token_info["principal"]
    assert isinstance(principal, Principal)
    return principal


def s2_environment_of(token_info: dict[str, Any]) -> Environment:
    """The environment an S2 access token named (see :func:`s2_security_handler`)."""
    env = token_info["environment"]
    assert isinstance(env, Environment)
    return env


def api_security_handler(
    authenticator: Authenticator,
    *,
    public_operations: frozenset[str],
    extra_public_operations: frozenset[str],
    claims_refused_as_deployed: bool = False,
) -> type[BearerSecurityHandler]:
    """A bearer handler class bound to ``authenticator``.

    ``public_operations`` are those whose spec security lists ``publicAccessToken``;
    ``extra_public_operations`` are the ones where the mode also takes a public token
    although the spec asks for a secret key; ``claims_refused_as_deployed``: every failure
    to authenticate ``POST /api/v1/auth/jwt/claims`` is :class:`ClaimsRefused`.
    """

    class ApiBearer(BearerSecurityHandler):  # type: ignore[misc]
        def get_fn(self, security_scheme: dict[str, Any], required_scopes: Any) -> Verifier:
            is_jwt_scheme = security_scheme.get("bearerFormat") == "JWT"
            return self._public_token if is_jwt_scheme else self._secret_key

        @staticmethod
        async def _secret_key(request: ConnexionRequest) -> Any:
            credential = bearer_credential(request.headers.get("authorization"))
            if claims_refused_as_deployed and routed_operation_id(request.scope) == CLAIMS:
                try:
                    if credential is None or public_token_claims(credential) is not None:
                        raise ClaimsRefused()
                    return token_info(authenticator.secret_key(credential))
                except ApiError:
                    raise ClaimsRefused() from None
            if credential is None:
                return NO_VALUE
            claims = public_token_claims(credential)
            if claims is None:
                return token_info(authenticator.secret_key(credential))
            operation = routed_operation_id(request.scope)
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
                env = environment_of_token(environments, token)
                if env is None:
                    raise S2Unauthorized()
                return {"sub": env.id, "environment": env}

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
