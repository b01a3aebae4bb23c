"""HS256 JWTs for the coordinator emulation: minted by ``POST /tokens``, checked on every other route.

The signing secret is random per process: restarting the coordinator invalidates every token, and no
secret is ever configured or stored. Tokens carry a hash of the API key (``sub``), never the key.
"""

from __future__ import annotations

import fnmatch
import hashlib
import secrets
import time
import uuid
from typing import Any

import jwt

from reactor_web.runtime.coordinator.config import MAX_TOKEN_TTL_S

ISSUER = "reactor-web-coordinator"
ALGORITHM = "HS256"


class TokenError(Exception):
    """A request without a usable credential; ``code`` goes into the 401 body."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TokenAuthority:
    def __init__(self, api_keys: list[str], ttl_s: int, secret: bytes | None = None) -> None:
        """``secret`` is for tests that need to sign a token themselves; by default it is random."""
        self._key_ids = {key: key_id(key) for key in api_keys}
        self._ttl_s = ttl_s
        self._secret = secret if secret is not None else secrets.token_bytes(32)

    def key_id_of(self, api_key: str | None) -> str | None:
        """The id a key's tokens carry, or None for an unknown key (compared in constant time)."""
        if not api_key:
            return None
        for key, kid in self._key_ids.items():
            if secrets.compare_digest(key.encode(), api_key.encode()):
                return kid
        return None

    def mint(self, kid: str, body: Any) -> str:
        """A token for the ``POST /tokens`` body (Part B §B.4); raises ValueError on a malformed body."""
        expires_after, details = parse_token_request(body)
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": kid,
            "iat": now,
            "exp": now + min(expires_after or self._ttl_s, MAX_TOKEN_TTL_S),
            "jti": uuid.uuid4().hex,
        }
        if details is not None:
            claims["authorization_details"] = details
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims; :class:`TokenError` when it is expired, forged or malformed."""
        try:
            return jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": ["exp", "sub"]}
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("TOKEN_EXPIRED", "the token has expired: fetch a new one") from None
        except (jwt.PyJWTError, ValueError, TypeError) as exc:  # a garbled token can fail outside PyJWTError
            raise TokenError("INVALID_TOKEN", f"the token is not valid here: {exc}") from None


def key_id(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


def parse_token_request(body: Any) -> tuple[int | None, list[dict[str, Any]] | None]:
    """``null`` or ``{"expires_after"?: int > 0, "authorization_details"?: [...]}``."""
    if body is None:
        return None, None
    if not isinstance(body, dict):
        raise ValueError("the body must be null or an object")
    expires_after = body.get("expires_after")
    if expires_after is not None and (
        not isinstance(expires_after, int) or isinstance(expires_after, bool) or expires_after <= 0
    ):
        raise ValueError("expires_after must be a positive integer (seconds)")
    details = body.get("authorization_details")
    if details is not None and not (isinstance(details, list) and all(isinstance(d, dict) for d in details)):
        raise ValueError("authorization_details must be a list of objects")
    return expires_after, details


def allows_model(claims: dict[str, Any], model: str) -> bool:
    """A token scoped with ``resources.models.match`` patterns allows only matching models."""
    patterns = [
        pattern
        for detail in claims.get("authorization_details") or []
        if detail.get("type") == "session"
        for pattern in ((detail.get("resources") or {}).get("models") or {}).get("match") or []
        if isinstance(pattern, str)
    ]
    return not patterns or any(fnmatch.fnmatchcase(model, pattern) for pattern in patterns)
