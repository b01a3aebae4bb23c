"""The client's HTTP side against an in-test coordinator: request bytes, polling schedules, error mapping."""

from __future__ import annotations

import json

import httpx
import pytest
from client_fakes import BASE, SESSION_ID, FakeServer, T, descriptor, reply

from reactor_web.client import ErrorCode, Reactor, ReactorError, _http
from reactor_web.client import coordinator as coordinator_module
from reactor_web.client import signalling as signalling_module


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the polling loops' sleeps instead of sleeping."""
    recorded: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(coordinator_module, "sleep", fake_sleep)
    monkeypatch.setattr(signalling_module, "sleep", fake_sleep)
    return recorded


def record(reactor: Reactor) -> list[tuple[str, object]]:
    events: list[tuple[str, object]] = []
    for event in ("status_changed", "session_id_changed", "error"):
        reactor.on(event, lambda value, event=event: events.append((event, value)))
    return events


def test_defaults() -> None:
    assert Reactor("m").api_url == "https://api.reactor.inc"
    assert Reactor("m", local=True).api_url == "http://localhost:8080"
    assert Reactor("m", local=True, api_url="http://x:1").api_url == "http://x:1"
    assert Reactor("m").signalling == "flat" and Reactor("m", local=True).signalling is None


async def test_production_without_token_raises_before_any_status_change() -> None:
    server = FakeServer()
    reactor = server.reactor()
    events = record(reactor)
    with pytest.raises(ReactorError) as raised:
        await reactor.connect()
    assert raised.value.code == ErrorCode.AUTHENTICATION_FAILED and not raised.value.recoverable
    assert events == [] and server.requests == [] and reactor.status == "disconnected"


async def test_401_is_authentication_failed() -> None:
    server = FakeServer({("POST", "/sessions"): reply(401, {"error": "bad token"})})
    reactor = server.reactor()
    events = record(reactor)
    with pytest.raises(ReactorError) as raised:
        await reactor.connect("jwt")
    error = raised.value
    assert (error.code, error.component, error.recoverable) == ("AUTHENTICATION_FAILED", "coordinator", False)
    assert "401" in error.message
    assert events == [("status_changed", "connecting"), ("error", error), ("status_changed", "disconnected")]
    assert server.sent("DELETE", f"/sessions/{SESSION_ID}") == []  # no session was created


@pytest.mark.parametrize(
    ("status", "headers", "recoverable", "retry_after"),
    [
        (429, {"Retry-After": "7"}, True, 7.0),
        (503, {"Retry-After": "2"}, True, 2.0),
        (500, {}, True, None),
        (404, {}, False, None),
    ],
)
async def test_http_failures_map_to_recoverable_and_retry_after(
    status: int, headers: dict[str, str], recoverable: bool, retry_after: float | None
) -> None:
    server = FakeServer({("POST", "/sessions"): reply(status, {"error": "x"}, headers)})
    with pytest.raises(ReactorError) as raised:
        await server.reactor().connect("jwt")
    error = raised.value
    assert (error.code, error.recoverable, error.retry_after) == ("CONNECTION_FAILED", recoverable, retry_after)
    assert error.message.startswith(f"Connection failed: Failed to create session: {status}")


@pytest.mark.parametrize(("status", "prefix"), [(426, "CLIENT_VERSION_TOO_OLD"), (501, "SERVER_VERSION_TOO_OLD")])
async def test_version_errors(status: int, prefix: str) -> None:
    server = FakeServer({("POST", "/sessions"): reply(status)})
    with pytest.raises(ReactorError) as raised:
        await server.reactor().connect("jwt")
    assert f"Connection failed: {prefix}: " in raised.value.message and not raised.value.recoverable


async def test_create_session_request_and_poll_schedule(sleeps: list[float]) -> None:
    polls = iter([descriptor(ready=False)] * 3 + [descriptor(state="CLOSED", ready=False)])

    async def poll_route(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=next(polls))

    server = FakeServer(
        {
            ("POST", "/sessions"): reply(201, descriptor(ready=False)),
            ("GET", f"/sessions/{SESSION_ID}"): poll_route,
            ("DELETE", f"/sessions/{SESSION_ID}"): reply(404),
        }
    )
    reactor = server.reactor()
    events = record(reactor)
    with pytest.raises(ReactorError) as raised:
        await reactor.connect("jwt")

    create = server.sent("POST", "/sessions")[0]
    assert create.content == (
        b'{"model":{"name":"demo"},"client_info":{"sdk_version":"0.1.0","sdk_type":"python"},'
        b'"supported_transports":[{"protocol":"webrtc","version":"1.0"}]}'
    )
    assert create.headers["Authorization"] == "Bearer jwt"
    assert create.headers["Reactor-API-Version"] == create.headers["Reactor-API-Accept-Version"] == "1"
    assert create.headers["Content-Type"] == "application/json"
    poll_request = server.sent("GET", f"/sessions/{SESSION_ID}")[0]
    assert "Content-Type" not in poll_request.headers and poll_request.headers["Authorization"] == "Bearer jwt"
    assert sleeps == [0.2, 0.4, 0.8]
    assert 'terminal state "CLOSED"' in raised.value.message and not raised.value.recoverable
    delete = server.sent("DELETE", f"/sessions/{SESSION_ID}")
    assert len(delete) == 1 and delete[0].content == b"" and "Content-Type" not in delete[0].headers
    assert [e for e in events if e[0] != "error"] == [
        ("status_changed", "connecting"),
        ("session_id_changed", SESSION_ID),
        ("status_changed", "waiting"),
        ("status_changed", "disconnected"),
        ("session_id_changed", None),
    ]


async def test_session_poll_gives_up_after_20_attempts(sleeps: list[float]) -> None:
    server = FakeServer(
        {
            ("POST", "/sessions"): reply(201, descriptor(ready=False)),
            ("GET", f"/sessions/{SESSION_ID}"): reply(200, descriptor(ready=False)),
            ("DELETE", f"/sessions/{SESSION_ID}"): reply(204),
        }
    )
    with pytest.raises(ReactorError) as raised:
        await server.reactor().connect("jwt")
    assert sleeps == [0.2, 0.4, 0.8, 1.6, 3.2, 6.4] + [10.0] * 14
    assert "exceeded maximum attempts (20)" in raised.value.message and raised.value.recoverable


async def test_unsupported_transport_protocol() -> None:
    server = FakeServer({("POST", "/sessions"): reply(201, descriptor(protocol="websocket"))})
    server.routes[("GET", f"/sessions/{SESSION_ID}")] = reply(200, descriptor(protocol="websocket"))
    with pytest.raises(ReactorError, match="Unsupported transport protocol: websocket"):
        await server.reactor().connect("jwt")


async def test_local_start_and_stop_session_requests() -> None:
    server = FakeServer(
        {
            ("POST", "/start_session"): reply(200, descriptor()),
            ("POST", f"{T}/connections"): reply(500, {"error": "boom"}),
            ("POST", "/stop_session"): reply(200, {}),
        }
    )
    reactor = server.reactor(local=True)
    with pytest.raises(ReactorError) as raised:
        await reactor.connect()
    assert "Failed to create connection: 500" in raised.value.message and raised.value.recoverable

    start = server.sent("POST", "/start_session")[0]
    assert start.content == b"{}" and "Authorization" not in start.headers
    assert start.headers["Reactor-API-Version"] == "1"
    connection = server.sent("POST", f"{T}/connections")[0]
    assert connection.headers["Authorization"] == "Bearer local"
    assert connection.headers["Reactor-WebRTC-Version"] == "1.0"
    stop = server.sent("POST", "/stop_session")[0]
    assert json.loads(stop.content) == {"session_id": SESSION_ID}
    assert stop.headers["Content-Type"] == "application/json" and "Authorization" not in stop.headers
    assert reactor.get_session_id() is None and reactor.status == "disconnected"


async def test_sdp_offer_must_be_answered_202_exactly() -> None:
    server = FakeServer(
        {
            ("POST", "/start_session"): reply(200, descriptor()),
            ("GET", f"{T}/ice_servers"): reply(200, {"ice_servers": []}),
            ("POST", f"{T}/sdp_params"): reply(200, {}),
        }
    )
    with pytest.raises(ReactorError, match="Failed to send SDP offer: 200"):
        await server.reactor(local=True, signalling="flat").connect()


async def test_sdp_poll_schedule_and_give_up(sleeps: list[float]) -> None:
    server = FakeServer(
        {
            ("POST", "/start_session"): reply(200, descriptor()),
            ("GET", f"{T}/ice_servers"): reply(200, {"ice_servers": []}),
            ("POST", f"{T}/sdp_params"): reply(202, {}),
            ("GET", f"{T}/sdp_params"): reply(202, {}),
        }
    )
    with pytest.raises(ReactorError, match=r"SDP polling exceeded maximum attempts \(4\)"):
        await server.reactor(local=True, signalling="flat").connect(max_attempts=4)
    # Five quick uncounted polls through the first 200 ms, then the JS SDK's counted, doubling schedule.
    assert sleeps == [0.04] * 5 + [0.2, 0.4, 0.8, 1.6]
    assert len(server.sent("GET", f"{T}/sdp_params")) == 5 + 4


async def test_409_is_recoverable_and_the_base_url_is_used() -> None:
    server = FakeServer({("POST", "/start_session"): reply(409, {"error": "busy"})})
    reactor = server.reactor(local=True)
    with pytest.raises(ReactorError) as raised:
        await reactor.connect()
    assert raised.value.recoverable  # 409: a session is already running; it may end
    assert str(server.requests[0].url) == f"{BASE}/start_session"


async def test_local_start_session_waits_while_the_model_loads(sleeps: list[float]) -> None:
    answers = iter([(503, {"Retry-After": "1"}), (503, {"Retry-After": "2"}), (409, {})])

    async def start(_request: httpx.Request) -> httpx.Response:
        status, headers = next(answers)
        return httpx.Response(status, json={"detail": "x"}, headers=headers)

    server = FakeServer({("POST", "/start_session"): start})
    with pytest.raises(ReactorError, match="Failed to start session: 409"):
        await server.reactor(local=True).connect()
    assert sleeps == [1.0, 2.0] and len(server.sent("POST", "/start_session")) == 3


def test_the_clients_http_builds_one_tls_context_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx loads the whole CA bundle for each client it makes (~40 ms); every connect, upload and token fetch
    makes one, so they share one context instead (the first connect's cost moves to ``Reactor.prewarm``)."""
    built: list[object] = []
    real = httpx.create_ssl_context
    monkeypatch.setattr(httpx, "create_ssl_context", lambda *a, **k: built.append(1) or real(*a, **k))
    _http.tls_context.cache_clear()
    try:
        Reactor.prewarm()
        clients = [_http.new_http_client(5.0) for _ in range(3)]
        assert len(built) == 1
        assert all(c._transport._pool._ssl_context is _http.tls_context() for c in clients)
    finally:
        _http.tls_context.cache_clear()
