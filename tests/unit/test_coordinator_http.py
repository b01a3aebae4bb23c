"""The coordinator emulation over real HTTP, with no GPU workers: every session stays in line.

Covers auth (API keys, bearer tokens), the waiting line's positions, the per-key limit, and how the
Python client surfaces each of them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from reactor_web.client import ErrorCode, Reactor, ReactorError, fetch_jwt, jwt_expiry
from reactor_web.protocol.schemas import SessionResponse, create_session_body
from reactor_web.runtime.coordinator import CoordinatorConfig, serve_coordinator

MODEL = "reactor-web-demo"
KEYS = ["rk_alice", "rk_bob"]


@pytest.fixture
async def url() -> AsyncIterator[str]:
    config = CoordinatorConfig(port=0, gpus=0, api_keys=KEYS, max_sessions_per_key=2, retry_after_s=7)
    async with serve_coordinator(config) as base:
        yield base


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create(http: httpx.AsyncClient, url: str, token: str, model: str = MODEL) -> httpx.Response:
    return await http.post(f"{url}/sessions", json=create_session_body(model), headers=bearer(token))


async def test_tokens_need_a_known_api_key(url: str, http: httpx.AsyncClient) -> None:
    refused = await http.post(f"{url}/tokens", headers={"Reactor-API-Key": "rk_mallory"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "INVALID_API_KEY"
    with pytest.raises(ReactorError) as raised:
        await fetch_jwt("rk_mallory", api_url=url)
    error = raised.value
    assert (error.code, error.component, error.recoverable) == (ErrorCode.AUTHENTICATION_FAILED, "coordinator", False)
    token = await fetch_jwt("rk_alice", api_url=url, expires_after=120)
    assert 118 <= (jwt_expiry(token) or 0) - time.time() <= 120


async def test_session_routes_refuse_missing_forged_and_expired_tokens(url: str, http: httpx.AsyncClient) -> None:
    good = await fetch_jwt("rk_alice", api_url=url)
    header, payload, _signature = good.split(".")
    forged = f"{header}.{payload}.{'A' * 43}"
    short = await fetch_jwt("rk_alice", api_url=url, expires_after=1)
    await asyncio.sleep(max(0.0, (jwt_expiry(short) or 0) - time.time()) + 0.05)  # let it expire
    missing = await http.post(f"{url}/sessions", json=create_session_body(MODEL))
    codes = [missing] + [await create(http, url, token) for token in (forged, short)]
    assert [(r.status_code, r.json()["error"]["code"]) for r in codes] == [
        (401, "MISSING_TOKEN"),
        (401, "INVALID_TOKEN"),
        (401, "TOKEN_EXPIRED"),
    ]
    assert all(r.headers["WWW-Authenticate"].startswith("Bearer") for r in codes)
    assert (await create(http, url, good)).status_code == 201


async def test_waiting_line_positions_and_delete(url: str, http: httpx.AsyncClient) -> None:
    alice, bob = [await fetch_jwt(key, api_url=url) for key in KEYS]
    first = (await create(http, url, alice)).json()
    second = (await create(http, url, bob)).json()
    assert (first["state"], first["queue_position"]) == ("WAITING", 1)
    assert (second["state"], second["queue_position"]) == ("WAITING", 2)
    assert {"capabilities", "selected_transport"}.isdisjoint(second)
    # Another key's session is not found; transport calls on a waiting session are refused.
    assert (await http.get(f"{url}/sessions/{first['session_id']}", headers=bearer(bob))).status_code == 404
    sdp = f"{url}/sessions/{second['session_id']}/transport/webrtc/sdp_params"
    assert (await http.get(sdp, headers=bearer(bob))).status_code == 409

    deleted = await http.delete(f"{url}/sessions/{first['session_id']}", headers=bearer(alice))
    assert deleted.status_code == 200 and deleted.json()["state"] == "CLOSED"
    now = (await http.get(f"{url}/sessions/{second['session_id']}", headers=bearer(bob))).json()
    assert now["queue_position"] == 1
    info = (await http.get(f"{url}/sessions/{first['session_id']}/info", headers=bearer(alice))).json()
    assert info == {"session_id": first["session_id"], "state": "CLOSED", "cluster": "local-emulated"}
    health = (await http.get(f"{url}/health")).json()
    assert (health["waiting"], health["sessions"], health["workers"]) == (1, 1, [])


async def test_unknown_model_and_model_scope(url: str, http: httpx.AsyncClient) -> None:
    alice = await fetch_jwt("rk_alice", api_url=url)
    assert (await create(http, url, alice, model="other")).json()["error"]["code"] == "MODEL_NOT_FOUND"
    scoped = await http.post(
        f"{url}/tokens",
        headers={"Reactor-API-Key": "rk_alice"},
        json={"authorization_details": [{"type": "session", "resources": {"models": {"match": ["x-*"]}}}]},
    )
    assert (await create(http, url, scoped.json()["jwt"])).status_code == 403


async def test_per_key_limit_is_429_with_retry_after(url: str, http: httpx.AsyncClient) -> None:
    alice, bob = [await fetch_jwt(key, api_url=url) for key in KEYS]
    assert [(await create(http, url, alice)).status_code for _ in range(2)] == [201, 201]
    third = await create(http, url, alice)
    assert third.status_code == 429 and third.headers["Retry-After"] == "7"
    assert third.json()["error"]["code"] == "TOO_MANY_SESSIONS"
    assert (await create(http, url, bob)).status_code == 201  # the limit is per key


def recorder(reactor: Reactor) -> list[tuple[str, object]]:
    events: list[tuple[str, object]] = []
    for event in ("status_changed", "error", "session_info_changed"):
        reactor.on(event, lambda value, event=event: events.append((event, value)))
    return events


async def in_line(reactor: Reactor) -> tuple[asyncio.Task[None], int | None]:
    """Start connecting ``reactor`` and return once the coordinator has put it in line, with its place."""
    placed: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()

    def on_info(info: SessionResponse) -> None:
        if info.state == "WAITING" and not placed.done():
            placed.set_result(info.queue_position)

    reactor.on("session_info_changed", on_info)
    task = asyncio.ensure_future(reactor.connect())
    return task, await asyncio.wait_for(placed, timeout=10)


async def test_client_sees_its_queue_position_then_the_limit_as_a_recoverable_error(url: str) -> None:
    async def provider() -> str:
        return await fetch_jwt("rk_alice", api_url=url)

    first, second = (Reactor(MODEL, api_url=url, token_provider=provider) for _ in range(2))
    tasks: list[asyncio.Task[None]] = []
    try:
        for reactor, place in ((first, 1), (second, 2)):
            task, position = await in_line(reactor)
            tasks.append(task)
            assert position == place and reactor.status == "waiting"
            assert reactor.get_session_info() is not None

        third = Reactor(MODEL, api_url=url, token_provider=provider)
        third_events = recorder(third)
        with pytest.raises(ReactorError) as raised:
            await third.connect()
        error = raised.value
        assert (error.code, error.recoverable, error.retry_after) == (ErrorCode.CONNECTION_FAILED, True, 7.0)
        assert "429" in error.message
        assert [v for e, v in third_events if e == "status_changed"] == ["connecting", "disconnected"]

        await first.disconnect()  # leaves the line: the second moves up
        info = second.get_session_info()
        async with asyncio.timeout(15):
            while info is None or info.queue_position != 1:
                info = await asyncio.wait_for(next_info(second), timeout=15)
        assert info.state == "WAITING"
    finally:
        for reactor in (first, second):
            await reactor.aclose()
        await asyncio.gather(*tasks, return_exceptions=True)


def next_info(reactor: Reactor) -> asyncio.Future[SessionResponse]:
    """The next descriptor the reactor's session polling reports."""
    future: asyncio.Future[SessionResponse] = asyncio.get_running_loop().create_future()

    def on_info(info: SessionResponse) -> None:
        reactor.off("session_info_changed", on_info)
        if not future.done():
            future.set_result(info)

    reactor.on("session_info_changed", on_info)
    return future


async def test_forged_token_is_authentication_failed_then_disconnected(url: str) -> None:
    reactor = Reactor(MODEL, api_url=url)
    events = recorder(reactor)
    with pytest.raises(ReactorError) as raised:
        await reactor.connect("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.forged")
    assert raised.value.code == ErrorCode.AUTHENTICATION_FAILED and not raised.value.recoverable
    assert events == [("status_changed", "connecting"), ("error", raised.value), ("status_changed", "disconnected")]


async def test_expired_token_is_renewed_through_the_provider(url: str) -> None:
    expired = await fetch_jwt("rk_alice", api_url=url, expires_after=1)
    await asyncio.sleep(max(0.0, (jwt_expiry(expired) or 0) - time.time()) + 0.05)  # let it expire
    fresh: list[str] = []

    async def provider() -> str:
        fresh.append(await fetch_jwt("rk_alice", api_url=url))
        return fresh[-1]

    reactor = Reactor(MODEL, api_url=url, token_provider=provider)
    expirations: list[float | None] = []
    reactor.on("session_expiration_changed", expirations.append)
    waiting = asyncio.Event()
    reactor.on("status_changed", lambda status: status == "waiting" and waiting.set())
    task = asyncio.ensure_future(reactor.connect(expired))
    try:
        await asyncio.wait_for(waiting.wait(), timeout=10)  # the session exists: the 401 was retried
        assert len(fresh) == 1 and expirations == [jwt_expiry(expired), jwt_expiry(fresh[0])]
        assert reactor.session_expiration == jwt_expiry(fresh[0])
    finally:
        await reactor.aclose()
        await asyncio.gather(task, return_exceptions=True)
    assert expirations[-1] is None
