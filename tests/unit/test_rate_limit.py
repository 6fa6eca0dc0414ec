"""The API rate limiter's rules (auth/ratelimit.py), driven by a frozen clock, without HTTP."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from mock_server.auth.authenticator import Authenticator
from mock_server.auth.environments import Environment, Environments
from mock_server.auth.ratelimit import (
    DEPLOYED_POLICY,
    FixedWindow,
    LimitPolicy,
    RateLimiter,
    TokenBucket,
    Verdict,
)
from mock_server.auth.tokens import JWT_AUDIENCE, JWT_ISSUER, sign_hs256
from mock_server.core.clock import ControllableClock

T0 = 1_800_000_012_345  # deliberately not on a 10 s or 60 s boundary
WINDOW_END = (T0 // 60_000 + 1) * 60_000
KEY_A = "Bearer tr_dev_aaaaaaaaaaaaaaaa"
KEY_B = "Bearer tr_dev_bbbbbbbbbbbbbbbb"
API = "/api/v1/sessions"


class Rig:
    def __init__(self, policy: str = "deployed", keys: tuple[str, ...] = ()) -> None:
        self.clock = ControllableClock(source=lambda: T0)
        self.environments = Environments(keys)
        self.authenticator = Authenticator(self.environments, self.clock)
        self.limiter = RateLimiter(LimitPolicy.parse(policy), self.authenticator, self.clock)

    def env(self, key: str = KEY_A) -> Environment:
        return self.environments.by_key(key.removeprefix("Bearer "))

    def token(self, *, act: Any = None, scopes: tuple[str, ...] = ("read:sessions",)) -> str:
        if act is None:
            return "Bearer " + self.authenticator.sign(self.env(), scopes, seconds=3600)
        now = self.clock.now_ms() // 1000
        claims = {"sub": self.env().id, "pub": True, "scopes": list(scopes), "act": act}
        claims |= {"iss": JWT_ISSUER, "aud": JWT_AUDIENCE, "iat": now, "exp": now + 3600}
        return "Bearer " + sign_hs256(claims, self.env().secret_key.encode())

    def check(self, authorization: str | None = KEY_A, path: str = API) -> Verdict | None:
        return self.limiter.check("GET", path, authorization)

    def spend(self, n: int, authorization: str = KEY_A) -> list[Verdict]:
        verdicts = [self.check(authorization) for _ in range(n)]
        assert all(v is not None for v in verdicts)
        return [v for v in verdicts if v is not None]

    def passes(self, authorization: str = KEY_A) -> int:
        """How many requests succeed before the first refusal."""
        count = 0
        while (verdict := self.check(authorization)) is not None and verdict.success:
            count += 1
        return count

    def tracked(self) -> int:
        buckets: int = self.limiter.describe()["buckets"]
        return buckets


# --- policies -------------------------------------------------------------------------------


def test_parse_policies() -> None:
    assert LimitPolicy.parse("off") is None
    assert LimitPolicy.parse(" Deployed ") is DEPLOYED_POLICY
    assert DEPLOYED_POLICY.secret_key == TokenBucket(750, 250, 10_000)
    assert DEPLOYED_POLICY.public_token == FixedWindow(60, 60_000)
    assert DEPLOYED_POLICY.describe() == "deployed"
    custom = LimitPolicy.parse("100/10")
    assert custom is not None and custom.describe() == "100/10"
    assert custom.secret_key == custom.public_token == TokenBucket(100, 100, 10_000)
    fractional = LimitPolicy.parse("2/1.5")
    assert fractional is not None and fractional.secret_key == TokenBucket(2, 2, 1500)
    assert LimitPolicy.parse(fractional.describe()) == fractional
    longest = LimitPolicy.parse("5/86400")
    assert longest is not None and longest.secret_key == TokenBucket(5, 5, 86_400_000)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("0/1", "N must be"),
        ("-1/2", "N must be"),
        ("5/0", "SECONDS must be"),
        ("5/x", "SECONDS must be"),
        ("5/-1", "SECONDS must be"),
        ("5/86401", "SECONDS must be"),
        ("5/inf", "SECONDS must be"),
        ("abc", "expected off, deployed or N/SECONDS"),
        ("", "expected off, deployed or N/SECONDS"),
    ],
)
def test_parse_refuses_bad_text(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        LimitPolicy.parse(text)


# --- which requests are limited ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "authorization"),
    [
        ("POST", "/api/v1/auth/jwt/claims", KEY_A),
        ("GET", "/api/v1/sessions/sess_1/snapshot-url", KEY_A),
        ("OPTIONS", API, KEY_A),
        ("options", API, KEY_A),
        ("GET", "/realtime/v1/sessions/sess_1/out", KEY_A),
        ("GET", API, None),
        ("GET", API, ""),
    ],
)
def test_unlimited_requests(method: str, path: str, authorization: str | None) -> None:
    rig = Rig()
    assert rig.limiter.check(method, path, authorization) is None
    assert rig.tracked() == 0


@pytest.mark.parametrize(
    "path", ["/api/v1/sessions/a/b/snapshot-url", "/api/v1/sessions/a/snapshot-url/x", "/apix"]
)
def test_near_misses_of_exempt_paths_are_limited(path: str) -> None:
    assert Rig().check(path=path) is not None


def test_off_limits_nothing() -> None:
    rig = Rig("off")
    assert rig.check() is None
    assert rig.limiter.describe() == {"policy": "off", "buckets": 0}


# --- secret keys: the deployed token bucket ---------------------------------------------------


def test_deployed_bucket_allows_a_burst_of_750() -> None:
    rig = Rig()
    verdicts = rig.spend(751)
    first, last_ok, refused = verdicts[0], verdicts[749], verdicts[750]
    assert first == Verdict(True, 750, 749, T0 + 10_000, "tokenBucket")
    assert last_ok.success and last_ok.remaining == 0
    assert refused == Verdict(False, 750, -1, T0 + 10_000, "tokenBucket")
    assert refused.header_remaining == 0
    assert refused.seconds_until_reset(T0 + 2_500) == 7.5
    assert refused.seconds_until_reset(T0 + 60_000) == 0


def test_ten_seconds_refill_exactly_250() -> None:
    rig = Rig()
    rig.spend(750)
    rig.clock.advance(10)
    after = rig.check()
    assert after == Verdict(True, 750, 249, T0 + 20_000, "tokenBucket")
    assert 1 + rig.passes() == 250
    rig.clock.advance(9.999)
    assert rig.check() == Verdict(False, 750, -1, T0 + 20_000, "tokenBucket")


def test_refill_is_capped_at_750() -> None:
    rig = Rig()
    rig.spend(1)
    rig.clock.advance(5)
    rig.spend(399)  # 350 left, written at T0+5s: kept until T0+25s
    rig.clock.advance(19)  # T0+24s: two refills of 250 would make 850
    first = rig.check()
    assert first == Verdict(True, 750, 749, T0 + 30_000, "tokenBucket")  # refilled at T0+20s
    assert 1 + rig.passes() == 750


def test_an_expired_bucket_starts_afresh_at_now() -> None:
    rig = Rig()
    rig.spend(1)  # 749 left: kept until T0+10s
    rig.clock.advance(15)
    # Kept, it would have refilled at T0+10s and reset at T0+20s.
    assert rig.check() == Verdict(True, 750, 749, T0 + 25_000, "tokenBucket")
    assert rig.tracked() == 1


def test_a_bucket_lives_until_just_after_its_expiry() -> None:
    rig = Rig()
    rig.spend(1)
    rig.clock.advance(5)
    rig.spend(1)  # 748 left, written at T0+5s: kept through T0+15s
    rig.clock.advance(10)
    # Still there: refilled at T0+10s (an expired one would reset at T0+25s).
    assert rig.check() == Verdict(True, 750, 749, T0 + 20_000, "tokenBucket")


def test_each_environment_has_its_own_bucket_whatever_the_header_spelling() -> None:
    rig = Rig()
    rig.spend(750, KEY_A)
    assert rig.check(KEY_B) == Verdict(True, 750, 749, T0 + 10_000, "tokenBucket")
    bare = KEY_A.removeprefix("Bearer ")
    assert rig.check(bare) == Verdict(False, 750, -1, T0 + 10_000, "tokenBucket")
    assert rig.tracked() == 2


def test_an_unknown_key_is_limited_per_header_hash() -> None:
    rig = Rig(keys=("tr_dev_aaaaaaaaaaaaaaaa",))
    unknown = "Bearer tr_dev_cccccccccccccccc"
    assert rig.check(unknown) == Verdict(True, 750, 749, T0 + 10_000, "tokenBucket")
    rig.spend(749, unknown)
    assert rig.check(unknown) == Verdict(False, 750, -1, T0 + 10_000, "tokenBucket")
    # The same key spelled without "Bearer " hashes differently, so it has its own bucket,
    # and the accepted key is untouched.
    assert rig.check(unknown.removeprefix("Bearer ")) is not None
    assert rig.passes(unknown.removeprefix("Bearer ")) == 749
    assert rig.check(KEY_A) == Verdict(True, 750, 749, T0 + 10_000, "tokenBucket")


def test_garbage_and_refused_tokens_draw_on_the_secret_key_bucket() -> None:
    rig = Rig()
    forged = rig.token()[:-4] + "AAAA"
    for header in ("Bearer ", "Bearer nonsense", forged):
        verdict = rig.check(header)
        assert verdict is not None and (verdict.limit, verdict.kind) == (750, "tokenBucket")
    assert rig.tracked() == 3


# --- public tokens: the deployed fixed window -------------------------------------------------


def test_public_token_window_allows_60_per_minute() -> None:
    rig = Rig()
    token = rig.token()
    verdicts = rig.spend(61, token)
    assert verdicts[0] == Verdict(True, 60, 59, WINDOW_END, "fixedWindow")
    assert verdicts[59] == Verdict(True, 60, 0, WINDOW_END, "fixedWindow")
    assert verdicts[60] == Verdict(False, 60, 0, WINDOW_END, "fixedWindow")
    rig.spend(5, token)
    # Refused requests count too (invisible in a verdict, so read the counter).
    assert list(rig.limiter._windows.values()) == [(T0 // 60_000, 66)]
    rig.clock.advance((WINDOW_END - T0) / 1000 - 0.001)
    assert rig.check(token) == Verdict(False, 60, 0, WINDOW_END, "fixedWindow")
    rig.clock.advance(0.001)  # the next window
    assert rig.check(token) == Verdict(True, 60, 59, WINDOW_END + 60_000, "fixedWindow")
    assert rig.tracked() == 1  # the old window's counter is gone


def test_tokens_without_an_actor_each_have_a_window() -> None:
    rig = Rig()
    first, second = rig.token(scopes=("read:sessions",)), rig.token(scopes=("write:sessions",))
    assert rig.passes(first) == 60
    assert rig.check(second) == Verdict(True, 60, 59, WINDOW_END, "fixedWindow")
    odd_actor = rig.token(act={"sub": 7})  # not a string: falls back to the token's hash
    assert rig.check(odd_actor) == Verdict(True, 60, 59, WINDOW_END, "fixedWindow")


def test_tokens_of_one_actor_share_a_window() -> None:
    rig = Rig()
    turn1 = rig.token(act={"sub": "user_1"}, scopes=("read:sessions",))
    turn2 = rig.token(act={"sub": "user_1"}, scopes=("write:sessions",))
    assert turn1 != turn2
    rig.spend(30, turn1)
    assert rig.passes(turn2) == 30
    assert rig.check(turn1) == Verdict(False, 60, 0, WINDOW_END, "fixedWindow")
    other = rig.token(act={"sub": "user_2"})
    assert rig.check(other) == Verdict(True, 60, 59, WINDOW_END, "fixedWindow")
    env_id = rig.env().id
    digests = [hashlib.sha256(user.encode()).hexdigest() for user in ("user_1", "user_2")]
    assert set(rig.limiter._windows) == {f"jwt-actor:{env_id}:{d}" for d in digests}
    # An actor id of any length takes one fixed-size key.
    long_one = rig.token(act={"sub": "u" * 10_000})
    rig.check(long_one)
    assert max(len(key) for key in rig.limiter._windows) < 200


# --- custom policies, switching, forgetting ---------------------------------------------------


def test_custom_policy_applies_one_bucket_shape_to_every_credential() -> None:
    rig = Rig("2/1")
    for credential in (KEY_A, rig.token(), "Bearer tr_dev_!!"):
        assert rig.check(credential) == Verdict(True, 2, 1, T0 + 1000, "tokenBucket")
        assert rig.check(credential) == Verdict(True, 2, 0, T0 + 1000, "tokenBucket")
        assert rig.check(credential) == Verdict(False, 2, -1, T0 + 1000, "tokenBucket")
    rig.clock.advance(1)
    assert rig.passes(KEY_A) == 2
    assert rig.limiter.describe() == {"policy": "2/1", "buckets": 3}


def test_set_policy_and_reset_forget_counters() -> None:
    rig = Rig("2/1")
    rig.spend(3)
    rig.limiter.reset()
    assert rig.tracked() == 0 and rig.passes() == 2
    policy = rig.limiter.policy
    assert policy is not None and policy.describe() == "2/1"
    rig.limiter.set_policy(LimitPolicy.parse("2/1"))
    assert rig.tracked() == 0 and rig.passes() == 2
    rig.limiter.set_policy(None)
    assert rig.check() is None and rig.limiter.policy is None
    rig.limiter.set_policy(DEPLOYED_POLICY)
    assert rig.check() == Verdict(True, 750, 749, T0 + 10_000, "tokenBucket")


def test_deployed_limit_for_spends_nothing() -> None:
    rig = Rig("off")
    token = rig.token()
    assert rig.limiter.deployed_limit_for(KEY_A) == (750, "tokenBucket")
    assert rig.limiter.deployed_limit_for(token) == (60, "fixedWindow")
    assert rig.limiter.deployed_limit_for("Bearer junk") == (750, "tokenBucket")
    assert rig.limiter.deployed_limit_for(None) == (750, "tokenBucket")
    rig.limiter.set_policy(LimitPolicy.parse("2/1"))
    for _ in range(5):
        assert rig.limiter.deployed_limit_for(token) == (2, "tokenBucket")
    assert rig.tracked() == 0
    assert rig.check(token) == Verdict(True, 2, 1, T0 + 1000, "tokenBucket")


def test_tracked_identifiers_are_capped_oldest_first() -> None:
    rig = Rig()
    rig.limiter.max_tracked = 2
    keys = [f"Bearer tr_dev_key{i}" for i in range(3)]
    for key in keys:
        rig.spend(750, key)
    assert rig.tracked() == 2
    assert rig.check(keys[0]) == Verdict(True, 750, 749, T0 + 10_000, "tokenBucket")  # forgotten
    assert rig.check(keys[2]) == Verdict(False, 750, -1, T0 + 10_000, "tokenBucket")
