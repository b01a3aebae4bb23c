"""Coordinator tokens: mint a JWT from an API key (``POST /tokens``, Part B §B.4) and read its expiry.

An API key must never reach a browser: call :func:`fetch_jwt` in the server process (the Reflex
backend) and hand the client the short-lived JWT only, e.g. through ``Reactor(token_provider=...)``.
"""

from __future__ import annotations

import httpx
import jwt

from reactor_web.client._http import DEFAULT_HTTP_TIMEOUT_S, http_failure, new_http_client, parse_json
from reactor_web.client.errors import ApiError, ErrorCode, ReactorError, to_reactor_error
from reactor_web.protocol.capabilities import ProtocolError
from reactor_web.protocol.constants import DEFAULT_BASE_URL, HEADER_API_KEY
from reactor_web.protocol.envelope import encode_json
from reactor_web.protocol.schemas import token_request_body

_CONTEXT = "Failed to fetch a token"


async def fetch_jwt(
    api_key: str,
    *,
    api_url: str = DEFAULT_BASE_URL,
    model: str | None = None,
    expires_after: int | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    http_timeout_s: float = DEFAULT_HTTP_TIMEOUT_S,
) -> str:
    """A JWT for ``Authorization: Bearer``; ``model`` scopes it to one session of that model.

    Raises :class:`ReactorError` (component ``coordinator``): ``AUTHENTICATION_FAILED``, not
    recoverable, when the key is refused (401/403); ``CONNECTION_FAILED``, recoverable, on network
    errors, 429 (with ``retry_after``) and 5xx; ``CONNECTION_FAILED``, not recoverable, otherwise.
    """
    headers = {HEADER_API_KEY: api_key, "Content-Type": "application/json"}
    content = encode_json(token_request_body(model, expires_after))
    try:
        async with new_http_client(http_timeout_s, transport) as client:
            try:
                response = await client.post(f"{api_url}/tokens", headers=headers, content=content)
            except httpx.HTTPError as exc:
                raise ApiError(f"{type(exc).__name__}: {exc}") from exc
            if not response.is_success:
                raise http_failure("fetch token", response)
            body = parse_json("fetch token", response)
        token = body.get("jwt") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ApiError('the /tokens response has no "jwt" string', response.status_code, recoverable=False)
    except (ApiError, ProtocolError) as exc:
        raise to_reactor_error(exc, ErrorCode.CONNECTION_FAILED, _CONTEXT) from exc
    return token


#: The name older JS SDKs exported (Part A §14); the same function.
fetch_insecure_jwt_token = fetch_jwt


def jwt_expiry(token: str) -> float | None:
    """The token's ``exp`` (seconds since the epoch), read without verifying it; None when absent.

    The client cannot verify the signature (the coordinator holds the key) and needs none: the value
    only schedules a refresh, and the coordinator still checks every request.
    """
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    exp = claims.get("exp")
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


def authentication_error(message: str) -> ReactorError:
    """The error of a missing or refused credential: retrying with the same one cannot help."""
    return ReactorError(ErrorCode.AUTHENTICATION_FAILED, message, component="coordinator", recoverable=False)
