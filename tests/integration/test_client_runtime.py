"""The Python Reactor client against the embedded runtime: real HTTP, real WebRTC on loopback, no mocks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest
from client_helpers import HEIGHT, WAIT_S, WIDTH, Recorder, SolidColourTrack, connected, frame_where, mean_rgb

from reactor_web.client import ConnectionStats, ErrorCode, Reactor, ReactorError
from reactor_web.runtime.config import RuntimeConfig
from reactor_web.runtime.process import RuntimeProcess, free_port
from reactor_web.runtime.serve import serve_runtime

DARK = 16


@pytest.fixture
async def runtime_url() -> AsyncIterator[str]:
    """An embedded runtime in-process, on the test's loop."""
    async with serve_runtime(RuntimeConfig(port=0, width=WIDTH, height=HEIGHT, fps=30)) as url:
        yield url


def client_tasks() -> list[asyncio.Task]:
    """Tasks running code of the client package (connect flows, ping, monitor, track feeds)."""
    prefixes = ("Reactor.", "CommandsMixin.", "PeerTransport.", "MediaHub.")
    return [t for t in asyncio.all_tasks() if t.get_coro().__qualname__.startswith(prefixes) and not t.done()]


async def test_status_sequence_frames_and_clean_disconnect(runtime_url: str) -> None:
    reactor, recorder = await connected(runtime_url)
    try:
        assert recorder.statuses() == ["connecting", "waiting", "ready"]
        session_id = reactor.get_session_id()
        assert session_id and recorder.args("session_id_changed") == [(session_id,)]
        assert reactor.signalling == "connections"  # the embedded runtime speaks Part B
        caps = reactor.get_capabilities()
        assert caps is not None and [t.name for t in caps.tracks] == [
            "main_video",
            "edges_video",
            "main_audio",
            "webcam",
            "microphone",
        ]

        name, track = (await recorder.wait("track_received"))[:2]
        assert name == "main_video" and reactor.tracks["main_video"] is track
        assert (await recorder.wait("stream_changed")) == (track,)
        rgb = await frame_where(track, lambda _rgb: True)
        assert rgb.shape[2] == 3 and rgb.mean() > DARK  # the demo scene, not black

        stats = (await recorder.wait("stats_update", lambda s: (s.frames_per_second or 0) > 0))[0]
        assert isinstance(stats, ConnectionStats) and reactor.get_stats() is not None
        timings = stats.connection_timings
        assert timings is not None and timings.total_ms >= timings.transport_connecting_ms > 0
        assert stats.candidate_type == "host"
    finally:
        await reactor.aclose()
    assert reactor.status == "disconnected" and reactor.get_session_id() is None
    assert recorder.statuses()[-1] == "disconnected"
    assert recorder.args("stream_changed")[-1] == (None,)
    assert recorder.args("session_id_changed")[-1] == (None,)
    assert reactor.tracks == {} and reactor.get_stats() is None
    assert client_tasks() == []


async def test_brightness_zero_makes_frames_dark(runtime_url: str) -> None:
    reactor, recorder = await connected(runtime_url)
    try:
        track = reactor.tracks["main_video"]
        await frame_where(track, lambda rgb: rgb.mean() > DARK)
        await reactor.send_command("set_brightness", {"value": 0})
        await frame_where(track, lambda rgb: rgb.mean() < 2)
        update = await recorder.wait("message", lambda m: m.get("type") == "state_update")
        assert update[0]["data"]["brightness"] == 0
    finally:
        await reactor.aclose()


async def test_published_colour_reaches_the_output_and_invert_inverts_it(runtime_url: str) -> None:
    reactor, _ = await connected(runtime_url)
    colour = np.array([200, 40, 40])
    try:
        track = reactor.tracks["main_video"]
        await reactor.publish_track("webcam", SolidColourTrack(tuple(colour)))
        before = await frame_where(track, lambda rgb: np.abs(mean_rgb(rgb) - colour).max() < 12)
        await reactor.send_command("set_effect", '{"name": "invert"}')  # a string is JSON-parsed first
        after = await frame_where(track, lambda rgb: np.abs(mean_rgb(rgb) - (255 - colour)).max() < 12)
        # Pixel by pixel, the output is the inverse of the frame before.
        assert np.abs(after.astype(int) - (255 - before.astype(int))).mean() < 12
        await reactor.unpublish_track("webcam")
        await frame_where(track, lambda rgb: np.abs(mean_rgb(rgb) - (255 - colour)).max() > 30)
    finally:
        await reactor.aclose()


@pytest.mark.parametrize("wire", ["auto", "v0"])
async def test_ping_pong_and_runtime_scope(runtime_url: str, wire: str) -> None:
    reactor, recorder = await connected(runtime_url, wire=wire)
    try:
        assert reactor.wire_version == ("v1" if wire == "auto" else "v0")
        await reactor.send_command("ping")
        pong = (await recorder.wait("message", lambda m: m.get("type") == "pong"))[0]
        assert isinstance(pong["data"]["frame"], int)
        await reactor.send_command("requestSchema", {}, scope="runtime")
        schema = (await recorder.wait("runtime_message", lambda m: m.get("type") == "modelSchema"))[0]
        assert {"/events/set_brightness", "/events/ping"} <= set(schema["data"]["paths"])
        if wire == "v0":  # the deprecated flat capabilities: v0 only
            await reactor.send_command("requestCapabilities", {}, scope="runtime")
            caps = (await recorder.wait("runtime_message", lambda m: m.get("type") == "modelCapabilities"))[0]
            assert {c["name"] for c in caps["data"]["commands"]} >= {"set_brightness", "set_effect", "ping"}
    finally:
        await reactor.aclose()


async def test_send_and_publish_before_ready_raise() -> None:
    reactor = Reactor("reactor-web-demo", local=True, api_url="http://127.0.0.1:1")
    recorder = Recorder(reactor)
    with pytest.raises(ReactorError) as raised:
        await reactor.send_command("ping")
    assert raised.value.code == ErrorCode.MESSAGE_SEND_FAILED and "disconnected" in raised.value.message
    with pytest.raises(ReactorError) as raised:
        await reactor.publish_track("webcam", SolidColourTrack((0, 0, 0)))
    assert raised.value.code == ErrorCode.TRACK_PUBLISH_FAILED
    assert [e[0].code for e in recorder.args("error")] == ["MESSAGE_SEND_FAILED", "TRACK_PUBLISH_FAILED"]
    assert reactor.get_last_error() is raised.value


async def test_closed_port_fails_with_connection_failed() -> None:
    reactor = Reactor("reactor-web-demo", local=True, api_url=f"http://127.0.0.1:{free_port()}")
    recorder = Recorder(reactor)
    with pytest.raises(ReactorError) as raised:
        await reactor.connect()
    error = raised.value
    assert error.code == ErrorCode.CONNECTION_FAILED and error.component == "coordinator" and error.recoverable
    assert recorder.statuses() == ["connecting", "disconnected"]
    # The error is emitted before the status goes back to disconnected.
    names = [name for name, _ in recorder.events if name in ("error", "status_changed")]
    assert names == ["status_changed", "error", "status_changed"]
    assert reactor.status == "disconnected" and client_tasks() == []


async def test_reconnect_after_recoverable_disconnect_keeps_the_session(runtime_url: str) -> None:
    reactor, recorder = await connected(runtime_url)
    try:
        session_id = reactor.get_session_id()
        await frame_where(reactor.tracks["main_video"], lambda _rgb: True)
        await reactor.disconnect(recoverable=True)
        assert reactor.status == "disconnected" and reactor.get_session_id() == session_id
        assert reactor.tracks == {} and recorder.args("stream_changed")[-1] == (None,)

        mark = len(recorder.events)
        await reactor.reconnect()
        await recorder.wait_status("ready", since=mark)
        assert recorder.statuses() == ["connecting", "waiting", "ready", "disconnected", "connecting", "ready"]
        assert reactor.get_session_id() == session_id
        await frame_where(reactor.tracks["main_video"], lambda rgb: rgb.mean() > DARK)
        # Commands still reach the same session's model.
        await reactor.send_command("set_brightness", {"value": 0})
        await frame_where(reactor.tracks["main_video"], lambda rgb: rgb.mean() < 2)
    finally:
        await reactor.aclose()


async def test_two_clients_get_separate_sessions(runtime_url: str) -> None:
    (first, _), (second, _) = await asyncio.gather(connected(runtime_url), connected(runtime_url))
    try:
        assert first.get_session_id() != second.get_session_id()
        await first.send_command("set_brightness", {"value": 0})
        await frame_where(first.tracks["main_video"], lambda rgb: rgb.mean() < 2)
        # The second session still renders its scene: several fresh frames, none dark.
        for _ in range(10):
            assert (await frame_where(second.tracks["main_video"], lambda _rgb: True)).mean() > DARK
    finally:
        await asyncio.gather(first.aclose(), second.aclose())


@pytest.mark.parametrize("flow", ["flat", "connections"])
async def test_both_signalling_flows(runtime_url: str, flow: str) -> None:
    reactor, recorder = await connected(runtime_url, signalling=flow)
    try:
        assert reactor.signalling == flow
        track = reactor.tracks["main_video"]
        await reactor.publish_track("webcam", SolidColourTrack((30, 30, 220)))
        await frame_where(track, lambda rgb: np.abs(mean_rgb(rgb) - (30, 30, 220)).max() < 12)
        await reactor.disconnect(recoverable=True)
        mark = len(recorder.events)
        await reactor.reconnect()
        await recorder.wait_status("ready", since=mark)
        assert reactor.signalling == flow
        await frame_where(reactor.tracks["main_video"], lambda rgb: rgb.mean() > DARK)
    finally:
        await reactor.aclose()


async def test_killed_runtime_gives_an_error_and_disconnected() -> None:
    runtime = RuntimeProcess(args=["--width", "160", "--height", "96"])
    await asyncio.to_thread(runtime.start)
    try:
        reactor, recorder = await connected(runtime.url, peer_timeout_s=5.0)
        await frame_where(reactor.tracks["main_video"], lambda _rgb: True)
        runtime.kill()
        await recorder.wait_status("disconnected", within=WAIT_S * 3)
        error = (await recorder.wait("error"))[0]
        assert error.code == ErrorCode.GPU_CONNECTION_ERROR and error.component == "gpu"
        assert reactor.get_last_error() is error
        # A recoverable teardown: the session id is kept; reconnecting to a dead runtime fails cleanly.
        with pytest.raises(ReactorError) as raised:
            await reactor.reconnect()
        assert raised.value.code == ErrorCode.RECONNECTION_FAILED
        assert reactor.status == "disconnected"
        await reactor.aclose()
        assert client_tasks() == []
    finally:
        runtime.kill()


async def test_runtime_shutdown_ends_in_a_recoverable_disconnect() -> None:
    async with serve_runtime(RuntimeConfig(port=0, width=160, height=96)) as url:
        reactor, recorder = await connected(url)
        await frame_where(reactor.tracks["main_video"], lambda _rgb: True)
    try:
        ended = await recorder.wait("runtime_message", lambda m: m.get("type") == "sessionEnded")
        assert ended[0]["data"]["reason"]
        await recorder.wait_status("disconnected")
        assert reactor.get_session_id() is not None  # kept: the app decides whether to reconnect
    finally:
        await reactor.aclose()
    assert client_tasks() == []
