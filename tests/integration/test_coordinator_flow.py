"""The Python client against the coordinator emulation: real GPU worker processes, real WebRTC on loopback."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator

import httpx
import pytest
from client_helpers import WAIT_S, Recorder, frame_where

from reactor_web.client import ErrorCode, Reactor, fetch_jwt
from reactor_web.runtime.coordinator import CoordinatorConfig, serve_coordinator

MODEL = "reactor-web-demo"
KEY = "rk_integration"


@pytest.fixture
async def url() -> AsyncIterator[str]:
    """One GPU worker; tokens live 4 s so that renewals happen within a test."""
    config = CoordinatorConfig(
        port=0, gpus=1, api_keys=[KEY], token_ttl_s=4, worker_args=["--width", "160", "--height", "96"]
    )
    async with serve_coordinator(config) as base:
        yield base


def client(url: str) -> tuple[Reactor, Recorder]:
    reactor = Reactor(MODEL, api_url=url, token_provider=lambda: fetch_jwt(KEY, api_url=url))
    return reactor, Recorder(reactor)


async def worker_pid(url: str) -> int:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{url}/health")).json()["workers"][0]["pid"]


async def test_second_client_waits_for_the_gpu_then_streams(url: str) -> None:
    first, first_events = client(url)
    second, second_events = client(url)
    try:
        await first.connect()
        await first_events.wait_status("ready")
        await frame_where(first.tracks["main_video"], lambda _rgb: True)

        pending = asyncio.ensure_future(second.connect())
        info = (await second_events.wait("session_info_changed", lambda i: i.state == "WAITING"))[0]
        assert info.queue_position == 1 and second.status == "waiting"

        await first.disconnect()
        await second_events.wait_status("ready", within=WAIT_S)
        await pending
        await frame_where(second.tracks["main_video"], lambda _rgb: True)
        assert second_events.statuses() == ["connecting", "waiting", "ready"]
    finally:
        await first.aclose()
        await second.aclose()


async def test_token_is_renewed_while_streaming(url: str) -> None:
    reactor, events = client(url)
    try:
        await reactor.connect()
        await events.wait_status("ready")
        # Three expirations: the first token's, then two renewals (4 s tokens, renewed 0.4 s early).
        await events.wait("session_expiration_changed", within=WAIT_S)
        first_exp = events.args("session_expiration_changed")[0][0]
        await events.wait("session_expiration_changed", lambda exp: exp > first_exp + 3, within=WAIT_S)
        assert reactor.status == "ready" and events.args("error") == []
        await frame_where(reactor.tracks["main_video"], lambda _rgb: True)
    finally:
        await reactor.aclose()
    assert events.args("session_expiration_changed")[-1] == (None,)


async def test_killed_gpu_worker_ends_the_session_and_a_new_one_runs_once_it_is_back(url: str) -> None:
    reactor, events = client(url)
    try:
        await reactor.connect()
        await events.wait_status("ready")
        await frame_where(reactor.tracks["main_video"], lambda _rgb: True)
        killed = await worker_pid(url)
        os.kill(killed, signal.SIGKILL)

        error = (await events.wait("error", within=WAIT_S))[0]
        assert error.code == ErrorCode.GPU_CONNECTION_ERROR and error.component == "gpu"
        await events.wait_status("disconnected")
        await events.wait("session_id_changed", lambda sid: sid is None)  # the dead session is gone

        mark = len(events.events)
        await reactor.connect()
        await events.wait_status("ready", since=mark, within=WAIT_S)
        await frame_where(reactor.tracks["main_video"], lambda _rgb: True)
        assert await worker_pid(url) != killed
    finally:
        await reactor.aclose()
