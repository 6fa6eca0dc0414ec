"""Scope grammar, credentials and token verification, without HTTP."""

from __future__ import annotations

import jwt
import pytest

from mock_server.auth.authenticator import Authenticator
from mock_server.auth.environments import Environments
from mock_server.auth.errors import InvalidApiKey, InvalidPublicToken, UnknownTokenEnvironment
from mock_server.auth.scopes import Ability, Resource, Scope
from mock_server.auth.tokens import bearer_credential, public_token_claims
from mock_server.core.clock import ControllableClock
from mock_server.core.fidelity import Behaviour, Fidelity

S = Resource("sessions", "chat:1")
ANY_SESSION = Resource("sessions")


@pytest.mark.parametrize(
    ("scope", "action", "resource", "granted"),
    [
        ("admin", "admin", S, True),
        ("admin", "read", Resource("tasks", "t"), True),
        ("read:sessions:chat:1", "read", S, True),
        ("read:sessions:chat:1", "write", S, False),
        ("read:sessions:chat", "read", S, False),
        ("read:sessions", "read", S, True),
        ("read:sessions", "read", ANY_SESSION, True),
        ("read:sessions:chat:1", "read", ANY_SESSION, False),
        ("read:all", "read", S, True),
        ("*:sessions", "admin", S, True),
        ("write:sessions", "admin", S, False),
        ("admin:sessions", "read", S, False),
        ("admin:sessions", "admin", S, True),
        ("read:tasks", "read", S, False),
        ("read", "read", S, False),
        ("", "read", S, False),
    ],
)
def test_scope_grants(scope: str, action: str, resource: Resource, granted: bool) -> None:
    assert Scope.parse(scope).grants(action, resource) is granted


def test_every_resource_unless_a_broader_one_is_granted() -> None:
    tasks = [Resource("tasks", "a"), Resource("tasks", "b")]
    otherwise = [Resource("sessions"), Resource("tasks")]
    assert Ability(["read:tasks:a", "read:tasks:b"]).can_every("read", tasks, otherwise=otherwise)
    assert not Ability(["read:tasks:a"]).can_every("read", tasks, otherwise=otherwise)
    assert Ability(["read:sessions"]).can_every("read", tasks, otherwise=otherwise)
    assert not Ability(["read:tasks:a"]).can_every("read", [], otherwise=otherwise)
    assert Ability.everything().can("admin", S)


@pytest.mark.parametrize(
    ("header", "credential"),
    [
        (None, None),
        ("", None),
        ("Bearer ", None),
        ("Bearer  x ", "x"),
        ("tr_dev_1", "tr_dev_1"),
        ("bearer tr_dev_1", "bearer tr_dev_1"),
    ],
)
def test_bearer_credentials_are_read_like_the_server_does(
    header: str | None, credential: str | None
) -> None:
    assert bearer_credential(header) == credential


def test_only_pub_jwts_count_as_public_tokens() -> None:
    assert public_token_claims(jwt.encode({"pub": True}, "k")) == {"pub": True}
    assert public_token_claims(jwt.encode({"pub": "true"}, "k")) is None
    assert public_token_claims(jwt.encode({"sub": "x"}, "k")) is None
    assert public_token_claims("a.b.c") is None
    assert public_token_claims("tr_dev_abc") is None
    deep = "x." + jwt.utils.base64url_encode(b"[" * 100_000).decode() + ".y"
    assert public_token_claims(deep) is None


def test_open_environments_accept_any_well_formed_key() -> None:
    envs = Environments()
    env = envs.by_key("tr_stg_abc")
    assert env.kind == "stg" and envs.by_id(env.id) is env and envs.by_key("tr_stg_abc") is env
    with pytest.raises(InvalidApiKey):
        envs.by_key("tr_xyz_abc")


def test_configured_environments_accept_only_their_keys() -> None:
    envs = Environments(["tr_dev_only"])
    assert not envs.is_open and envs.by_key("tr_dev_only").kind == "dev"
    with pytest.raises(InvalidApiKey):
        envs.by_key("tr_dev_other")
    with pytest.raises(ValueError, match="not a secret key"):
        Environments(["nope"])


def test_tokens_verify_against_the_fake_clock() -> None:
    clock = ControllableClock()
    auth = Authenticator(Environments(), clock)
    env = auth.environments.by_key("tr_dev_signer")
    token = auth.sign(env, ["read:sessions:a"], seconds=60)
    claims = public_token_claims(token)
    assert claims is not None
    principal = auth.public_token(token, claims)
    assert principal.is_public_token and principal.ability.can("read", Resource("sessions", "a"))
    clock.advance(61)
    with pytest.raises(InvalidPublicToken):
        auth.public_token(token, claims)


def test_tokens_need_a_known_environment_and_its_key() -> None:
    auth = Authenticator(Environments(), ControllableClock())
    env = auth.environments.by_key("tr_dev_signer")
    forged = jwt.encode(
        {
            "sub": env.id,
            "pub": True,
            "iss": "https://id.trigger.dev",
            "aud": "https://api.trigger.dev",
        },
        "tr_dev_other",
    )
    with pytest.raises(InvalidPublicToken):
        auth.public_token(forged, {"sub": env.id, "pub": True})
    with pytest.raises(UnknownTokenEnvironment):
        auth.public_token(forged, {"sub": "cunknown", "pub": True})
    with pytest.raises(UnknownTokenEnvironment):
        auth.public_token(forged, {"sub": 5, "pub": True})


@pytest.mark.parametrize("fidelity", list(Fidelity))
def test_which_hmac_algorithms_a_mode_accepts(fidelity: Fidelity) -> None:
    behaviour = Behaviour.of(fidelity)
    auth = Authenticator(Environments(), ControllableClock(), algorithms=behaviour.jwt_algorithms)
    env = auth.environments.by_key("tr_dev_signer")
    claims = {"sub": env.id, "pub": True, "iss": "https://id.trigger.dev",
              "aud": "https://api.trigger.dev", "scopes": []}  # fmt: skip
    accepted = set()
    for algorithm in ("HS256", "HS384", "HS512"):
        token = jwt.encode(claims, env.secret_key, algorithm=algorithm)
        try:
            auth.public_token(token, claims)
            accepted.add(algorithm)
        except InvalidPublicToken:
            pass
    expected = {"HS256"} if fidelity is Fidelity.DOCUMENTED else {"HS256", "HS384", "HS512"}
    assert accepted == expected
    unsigned = jwt.encode(claims, None, algorithm="none")
    with pytest.raises(InvalidPublicToken):
        auth.public_token(unsigned, claims)
    other_key = jwt.encode(claims, "tr_dev_someoneelse", algorithm="HS512")
    with pytest.raises(InvalidPublicToken):
        auth.public_token(other_key, claims)
