"""Tokens on the client side: minting with an API key, reading ``exp``, renewing through a provider."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import jwt
import pytest
from client_fakes import SESSION_ID, FakeServer, TokenEvents, descriptor, reply

from reactor_web.client import ErrorCode, ReactorError, fetch_insecure_jwt_token, fetch_jwt, jwt_expiry
from reactor_web.client.token import TokenManager

KEY = "a test secret that is long enough for HS256"


def token(exp_in_s: float, sub: str = "k") -> str:
    return jwt.encode({"sub": sub, "exp": int(time.time() + exp_in_s)}, KEY, algorithm="HS256")


def tokens_server(status: int, body: object = None, headers: dict[str, str] | None = None) -> FakeServer:
    return FakeServer({("POST", "/tokens"): reply(status, body, headers)})


async def test_fetch_jwt_sends_the_key_and_returns_the_jwt() -> None:
    server = tokens_server(200, {"jwt": "abc"})
    assert await fetch_jwt("rk_1", api_url="http://coordinator.test", transport=server.transport) == "abc"
    scoped = await fetch_insecure_jwt_token(
        "rk_1", api_url="http://coordinator.test", model="m", expires_after=60, transport=server.transport
    )
    assert scoped == "abc"
    plain, narrowed = server.sent("POST", "/tokens")
    assert plain.headers["Reactor-API-Key"] == "rk_1" and plain.content == b"null"
    assert json.loads(narrowed.content) == {
        "authorization_details": [
            {"type": "session", "resources": {"models": {"match": ["m"]}}, "constraints": {"max_sessions": 1}}
        ],
        "expires_after": 60,
    }


@pytest.mark.parametrize(
    ("status", "headers", "code", "recoverable", "retry_after"),
    [
        (401, {}, "AUTHENTICATION_FAILED", False, None),
        (403, {}, "AUTHENTICATION_FAILED", False, None),
        (429, {"Retry-After": "3"}, "CONNECTION_FAILED", True, 3.0),
        (502, {}, "CONNECTION_FAILED", True, None),
        (200, {}, "CONNECTION_FAILED", False, None),  # 200 without a "jwt"
    ],
)
async def test_fetch_jwt_errors(
    status: int, headers: dict[str, str], code: str, recoverable: bool, retry_after: float | None
) -> None:
    server = tokens_server(status, {"error": "no"}, headers)
    with pytest.raises(ReactorError) as raised:
        await fetch_jwt("rk_bad", api_url="http://coordinator.test", transport=server.transport)
    error = raised.value
    assert (error.code, error.component, error.recoverable, error.retry_after) == (
        code,
        "coordinator",
        recoverable,
        retry_after,
    )


async def test_fetch_jwt_network_failure_is_recoverable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ReactorError) as raised:
        await fetch_jwt("rk", api_url="http://coordinator.test", transport=httpx.MockTransport(refuse))
    assert raised.value.code == ErrorCode.CONNECTION_FAILED and raised.value.recoverable


def test_jwt_expiry() -> None:
    exp = int(time.time()) + 100
    assert jwt_expiry(jwt.encode({"exp": exp}, KEY, algorithm="HS256")) == exp
    assert jwt_expiry(jwt.encode({"exp": exp - 1000}, KEY, algorithm="HS256")) == exp - 1000  # expired: still read
    assert jwt_expiry(jwt.encode({"sub": "x"}, KEY, algorithm="HS256")) is None
    assert jwt_expiry("not a jwt") is None


async def test_expiration_is_emitted_on_connect_and_cleared_on_disconnect() -> None:
    first = token(600)
    server = FakeServer({("POST", "/sessions"): reply(500, {"error": "down"})})
    reactor = server.reactor()
    seen: list[float | None] = []
    reactor.on("sessionExpirationChanged", seen.append)
    with pytest.raises(ReactorError):
        await reactor.connect(first)
    assert seen == [jwt_expiry(first), None] and reactor.session_expiration is None


async def test_provider_supplies_the_token_and_a_401_renews_it_once() -> None:
    issued = [token(600, "old"), token(900, "new")]
    calls: list[str] = []

    async def provider() -> str:
        calls.append("provider")
        return issued[len(calls) - 1]

    async def create(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] != f"Bearer {issued[1]}":
            return httpx.Response(401, json={"error": {"code": "TOKEN_EXPIRED"}})
        return httpx.Response(201, json=descriptor(ready=False))

    server = FakeServer(
        {
            ("POST", "/sessions"): create,
            ("GET", f"/sessions/{SESSION_ID}"): reply(200, descriptor(state="CLOSED", ready=False)),
            ("DELETE", f"/sessions/{SESSION_ID}"): reply(200, {}),
        }
    )
    reactor = server.reactor(token_provider=provider)
    seen: list[float | None] = []
    reactor.on("session_expiration_changed", seen.append)
    with pytest.raises(ReactorError, match='terminal state "CLOSED"'):
        await reactor.connect()
    assert calls == ["provider", "provider"]
    assert [r.headers["Authorization"] for r in server.sent("POST", "/sessions")] == [
        f"Bearer {issued[0]}",
        f"Bearer {issued[1]}",
    ]
    # The DELETE after the failure goes out with the renewed token.
    assert server.sent("DELETE", f"/sessions/{SESSION_ID}")[0].headers["Authorization"] == f"Bearer {issued[1]}"
    assert seen == [jwt_expiry(issued[0]), jwt_expiry(issued[1]), None]


async def test_a_refused_token_without_provider_is_authentication_failed() -> None:
    server = FakeServer({("POST", "/sessions"): reply(401, {"error": {"code": "INVALID_TOKEN"}})})
    with pytest.raises(ReactorError) as raised:
        await server.reactor().connect("forged")
    assert raised.value.code == ErrorCode.AUTHENTICATION_FAILED and len(server.sent("POST", "/sessions")) == 1


async def test_refresh_happens_before_expiry() -> None:
    renewed = asyncio.Event()
    fresh = token(3600)

    async def provider() -> str:
        renewed.set()
        return fresh

    expirations: list[float | None] = []
    short = token(2)
    manager = TokenManager(short, provider, TokenEvents(on_expiration=expirations.append, on_error=pytest.fail))
    manager.start_refresh()
    try:
        await asyncio.wait_for(renewed.wait(), timeout=5)
        assert time.time() < jwt_expiry(short)  # type: ignore[operator]
        assert manager.token == fresh and expirations == [jwt_expiry(short), jwt_expiry(fresh)]
    finally:
        await manager.aclose()
    assert expirations[-1] is None


async def test_failed_refresh_is_reported_as_recoverable() -> None:
    errors: list[ReactorError] = []
    reported = asyncio.Event()

    def on_error(error: ReactorError) -> None:
        errors.append(error)
        reported.set()

    async def provider() -> str:
        raise RuntimeError("key store unreachable")

    manager = TokenManager(token(1), provider, TokenEvents(on_error=on_error))
    manager.start_refresh()
    try:
        await asyncio.wait_for(reported.wait(), timeout=5)
        assert errors and errors[0].code == ErrorCode.AUTHENTICATION_FAILED and errors[0].recoverable
        assert "key store unreachable" in errors[0].message
    finally:
        await manager.aclose()
