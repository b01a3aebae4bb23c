"""The coordinator emulation's tokens: what it mints from an API key and what it refuses."""

from __future__ import annotations

import time

import jwt
import pytest

from reactor_web.runtime.coordinator.tokens import ISSUER, TokenAuthority, TokenError, allows_model, key_id

SECRET = b"s" * 32


def authority() -> TokenAuthority:
    return TokenAuthority(["rk_a", "rk_b"], ttl_s=600, secret=SECRET)


def test_known_keys_get_distinct_ids_and_unknown_ones_none() -> None:
    auth = authority()
    assert auth.key_id_of("rk_a") == key_id("rk_a") != auth.key_id_of("rk_b")
    assert auth.key_id_of("rk_c") is None and auth.key_id_of(None) is None and auth.key_id_of("") is None


def test_minted_token_carries_the_key_id_never_the_key() -> None:
    auth = authority()
    token = auth.mint(key_id("rk_a"), None)
    claims = auth.verify(token)
    assert claims["sub"] == key_id("rk_a") and "rk_a" not in token
    assert 598 <= claims["exp"] - time.time() <= 600
    short = auth.verify(auth.mint("k", {"expires_after": 30}))
    assert short["exp"] - short["iat"] == 30
    capped = auth.verify(auth.mint("k", {"expires_after": 10**9}))
    assert capped["exp"] - capped["iat"] == 6 * 3600


@pytest.mark.parametrize("body", [[], {"expires_after": 0}, {"expires_after": "60"}, {"authorization_details": {}}])
def test_malformed_token_requests_are_refused(body: object) -> None:
    with pytest.raises(ValueError):
        authority().mint("k", body)


def test_expired_forged_and_garbage_tokens_are_refused() -> None:
    auth = authority()
    now = int(time.time())
    expired = jwt.encode({"iss": ISSUER, "sub": "k", "exp": now - 5}, SECRET, algorithm="HS256")
    forged = jwt.encode({"iss": ISSUER, "sub": "k", "exp": now + 60}, b"x" * 32, algorithm="HS256")
    no_exp = jwt.encode({"iss": ISSUER, "sub": "k"}, SECRET, algorithm="HS256")
    codes = []
    for token in (expired, forged, no_exp, "garbage"):
        with pytest.raises(TokenError) as raised:
            auth.verify(token)
        codes.append(raised.value.code)
    assert codes == ["TOKEN_EXPIRED", "INVALID_TOKEN", "INVALID_TOKEN", "INVALID_TOKEN"]


def test_model_scope() -> None:
    scoped = {"authorization_details": [{"type": "session", "resources": {"models": {"match": ["demo-*"]}}}]}
    assert allows_model(scoped, "demo-1") and not allows_model(scoped, "other")
    assert allows_model({}, "anything")
