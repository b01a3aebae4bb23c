"""Our Python client against the published reactor-runtime 3.10 running examples/reactor_runtime_demo.

Each test gets its own runtime process (see conftest). Every wait has a timeout; nothing sleeps a fixed
time. What the runtime does on the wire, and why each step is needed, is in docs/interop-notes.md.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import numpy as np
import pytest
from aiortc import VideoStreamTrack
from av import VideoFrame
from interop_support import DEMO_MODEL_NAME, ReactorRuntimeServer

from reactor_web.client import Reactor, ReactorError
from tests.integration.media_helpers import SineTrack, colourfulness, pitch_reaches

WIDTH, HEIGHT = 640, 360
TIMEOUT_S = 20.0
#: The centre of the picture: clear of the demo's moving marker bar along the top edge.
CENTRE = (slice(120, 300), slice(120, 520))
#: What the tone's pitch may be off by after Opus and a 0.2 s FFT (5 Hz bins).
PITCH_TOLERANCE_HZ = 15.0


class SolidColourTrack(VideoStreamTrack):
    """A 320x240 solid-colour camera."""

    def __init__(self, rgb: tuple[int, int, int]) -> None:
        super().__init__()
        self._image = np.empty((240, 320, 3), np.uint8)
        self._image[...] = rgb

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame.from_ndarray(self._image, format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        return frame


class Recorder:
    """Collects a Reactor's events; ``wait_for`` returns once a condition holds (or fails on timeout)."""

    def __init__(self, reactor: Reactor) -> None:
        self.statuses: list[str] = []
        self.messages: list[Any] = []
        self.runtime_messages: list[Any] = []
        self.errors: list[Any] = []
        self.tracks: list[str] = []
        self._changed = asyncio.Event()
        reactor.on("status_changed", lambda s: self._add(self.statuses, s))
        reactor.on("message", lambda m: self._add(self.messages, m))
        reactor.on("runtime_message", lambda m: self._add(self.runtime_messages, m))
        reactor.on("error", lambda e: self._add(self.errors, e))
        reactor.on("track_received", lambda name, _track: self._add(self.tracks, name))
        # These only wake ``wait_for`` so it re-checks conditions on the client's state.
        reactor.on("capabilities_received", lambda _caps: self._changed.set())
        reactor.on("stats_update", lambda _stats: self._changed.set())

    def _add(self, bucket: list[Any], item: Any) -> None:
        bucket.append(item)
        self._changed.set()

    async def wait_for(self, condition: Callable[[], Any], what: str) -> Any:
        async def loop() -> Any:
            while not (result := condition()):
                self._changed.clear()
                await self._changed.wait()
            return result

        try:
            return await asyncio.wait_for(loop(), TIMEOUT_S)
        except TimeoutError:
            pytest.fail(f"timed out waiting for {what}; statuses={self.statuses} errors={self.errors}")


@pytest.fixture
async def client(reactor_runtime: ReactorRuntimeServer) -> AsyncIterator[tuple[Reactor, Recorder]]:
    reactor = Reactor(DEMO_MODEL_NAME, api_url=reactor_runtime.url, local=True)
    recorder = Recorder(reactor)
    try:
        yield reactor, recorder
    finally:
        await reactor.aclose()


async def connect_ready(reactor: Reactor, recorder: Recorder, server: ReactorRuntimeServer) -> None:
    await reactor.connect()
    try:
        await recorder.wait_for(lambda: reactor.status == "ready", "status ready")
    except pytest.fail.Exception:
        print(server.log_tail())
        raise


async def next_frame(reactor: Reactor, track: str = "main_video") -> np.ndarray:
    """The next frame on a received track as RGB; fails if none arrives in time."""
    view = reactor.tracks.get(track)
    assert view is not None, f"no received track {track!r}; have {sorted(reactor.tracks)}"
    try:
        frame = await asyncio.wait_for(view.recv(), TIMEOUT_S)
    except TimeoutError:
        pytest.fail(f"no frame on {track} within {TIMEOUT_S:g} s (outbound tracks start paused: resume_track?)")
    return frame.to_ndarray(format="rgb24")


async def wait_for_frame(
    reactor: Reactor, condition: Callable[[np.ndarray], bool], what: str, track: str = "main_video"
) -> np.ndarray:
    async def loop() -> np.ndarray:
        while not condition(image := await next_frame(reactor, track)):
            pass
        return image

    try:
        return await asyncio.wait_for(loop(), TIMEOUT_S)
    except TimeoutError:
        pytest.fail(f"no {track} frame showed {what} within {TIMEOUT_S:g} s")


async def model_frame(reactor: Reactor) -> np.ndarray:
    """The next frame the model drew: reactor-runtime sends blank 1280x720 frames on a fresh peer until the
    model's first frame arrives (its pacer's ``DEFAULT_FRAME_DIMENSIONS``), so the first frame received may be one."""
    return await wait_for_frame(
        reactor, lambda image: image.shape == (HEIGHT, WIDTH, 3) and image.mean() > 20, "the model's frames"
    )


def mean_rgb(image: np.ndarray) -> np.ndarray:
    return image[CENTRE].reshape(-1, 3).mean(axis=0)


def looks_red(image: np.ndarray) -> bool:
    r, g, b = mean_rgb(image)
    return bool(r > 180 and g < 90 and b < 60)


async def session_state(server: ReactorRuntimeServer) -> str:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{server.url}/session")).json()["state"]


async def test_connects_and_streams_main_video(
    client: tuple[Reactor, Recorder], reactor_runtime: ReactorRuntimeServer
) -> None:
    reactor, recorder = client
    await connect_ready(reactor, recorder, reactor_runtime)
    assert recorder.statuses[:3] == ["connecting", "waiting", "ready"]
    assert reactor.signalling == "connections"
    assert "main_video" in recorder.tracks

    first = await model_frame(reactor)
    # The demo's marker bar moves every frame: a later frame differs.
    await wait_for_frame(reactor, lambda image: not np.array_equal(image[:6], first[:6]), "a moving picture")
    assert await session_state(reactor_runtime) == "streaming"


async def test_capabilities_come_from_the_openapi_schema(
    client: tuple[Reactor, Recorder], reactor_runtime: ReactorRuntimeServer
) -> None:
    """3.x descriptors carry ``commands: []``; the commands are in ``GET /schema`` / ``modelSchema``."""
    reactor, recorder = client
    await connect_ready(reactor, recorder, reactor_runtime)
    capabilities = reactor.get_capabilities()
    assert capabilities is not None
    assert {t.name: (t.kind, t.direction) for t in capabilities.tracks} == {
        "webcam": ("video", "sendonly"),
        "microphone": ("audio", "sendonly"),
        "main_video": ("video", "recvonly"),
        "edges_video": ("video", "recvonly"),
        "main_audio": ("audio", "recvonly"),
    }

    def brightness_command() -> Any:
        current = reactor.get_capabilities()
        return current.command("set_brightness") if current is not None else None

    command = await recorder.wait_for(brightness_command, "set_brightness in the capabilities (from /schema)")
    value = command.schema["value"]
    assert value["type"] == "integer"
    assert (value["minimum"], value["maximum"]) == (0, 100)
    assert reactor.get_capabilities().command("ping") is not None

    # The runtime message route to the same document works too.
    await reactor.send_command("requestSchema", {}, scope="runtime")
    schema = await recorder.wait_for(
        lambda: next((m for m in recorder.runtime_messages if m.get("type") == "modelSchema"), None), "modelSchema"
    )
    assert "/events/set_brightness" in schema["data"]["paths"]


async def test_command_gets_its_reply_message(
    client: tuple[Reactor, Recorder], reactor_runtime: ReactorRuntimeServer
) -> None:
    reactor, recorder = client
    await connect_ready(reactor, recorder, reactor_runtime)

    await reactor.send_command("ping", {"seq": 7})
    pong = await recorder.wait_for(
        lambda: next((m for m in recorder.messages if m.get("type") == "pong"), None), "the pong reply"
    )
    assert pong["data"]["seq"] == 7

    await reactor.send_command("set_brightness", {"value": 100})
    changed = await recorder.wait_for(
        lambda: next((m for m in recorder.messages if m.get("type") == "brightness_changed"), None),
        "brightness_changed",
    )
    assert changed["data"]["value"] == 100


async def test_v1_commands_are_answered_reply_ack_and_refusal_with_the_camera_published(
    client: tuple[Reactor, Recorder], reactor_runtime: ReactorRuntimeServer
) -> None:
    """reactor-runtime 3.10 answers v1 commands as reactor-sdk 1.13 reads them; v0 withheld the refusal (issue 21)."""
    reactor, recorder = client
    await connect_ready(reactor, recorder, reactor_runtime)
    assert reactor.wire_version == "v1"
    await reactor.publish_track("webcam", SolidColourTrack((255, 0, 0)))
    await wait_for_frame(reactor, looks_red, "the red webcam")

    reply = await reactor.send_command("ping", {"seq": 7})
    assert reply is not None and reply["type"] == "pong" and reply["data"]["seq"] == 7
    assert isinstance(reply["data"]["seq"], int)  # the Struct's 7.0, as the model meant it
    assert await reactor.send_command("mark", {"label": "here"}) is None  # a bodyless acknowledgement
    with pytest.raises(ReactorError) as refused:
        await reactor.send_command("spend_credits", {"amount": 3})
    assert refused.value.code == "quota_exceeded" and refused.value.command == "spend_credits"
    error = await recorder.wait_for(
        lambda: next((e for e in recorder.errors if e.code == "quota_exceeded"), None), "the error event"
    )
    assert error.command == "spend_credits" and "no credits" in error.message
    # The session goes on, the camera still published and shown.
    assert reactor.status == "ready" and "webcam" in reactor.published_tracks
    await wait_for_frame(reactor, looks_red, "the red webcam after the refusal")
    stats = await recorder.wait_for(lambda: reactor.get_stats(), "a stats sample")
    assert stats.protocol == "v1"


async def test_v0_against_reactor_runtime_still_streams_and_replies(reactor_runtime: ReactorRuntimeServer) -> None:
    """Reactor(wire="v0"): the legacy JSON on the connections routes; fire-and-forget commands, replies as messages."""
    reactor = Reactor(DEMO_MODEL_NAME, api_url=reactor_runtime.url, local=True, wire="v0")
    recorder = Recorder(reactor)
    try:
        await connect_ready(reactor, recorder, reactor_runtime)
        assert reactor.wire_version == "v0"
        await model_frame(reactor)
        assert await reactor.send_command("ping", {"seq": 8}) is None
        pong = await recorder.wait_for(
            lambda: next((m for m in recorder.messages if m.get("type") == "pong"), None), "the pong message"
        )
        assert pong["data"]["seq"] == 8  # 8.0 on v0: the runtime's JSON went through a Struct
    finally:
        await reactor.aclose()


async def test_published_webcam_shows_in_the_output(
    client: tuple[Reactor, Recorder], reactor_runtime: ReactorRuntimeServer
) -> None:
    reactor, recorder = client
    await connect_ready(reactor, recorder, reactor_runtime)
    assert not looks_red(await model_frame(reactor)), "the output is red before any webcam is published"

    await reactor.publish_track("webcam", SolidColourTrack((255, 0, 0)))
    # The model shows the newest webcam frame, lightly tinted green: still clearly red.
    await wait_for_frame(reactor, looks_red, "the red webcam")
    assert not recorder.errors, recorder.errors


async def test_reconnect_sends_the_published_webcam_again(
    client: tuple[Reactor, Recorder], reactor_runtime: ReactorRuntimeServer
) -> None:
    """reactor-runtime 3.10 receives the camera again after a reconnect, claimed on the new connection."""
    reactor, recorder = client
    await connect_ready(reactor, recorder, reactor_runtime)
    camera = SolidColourTrack((255, 0, 0))
    await reactor.publish_track("webcam", camera)
    await wait_for_frame(reactor, looks_red, "the red webcam")
    await reactor.disconnect(recoverable=True)
    camera._image[...] = (0, 0, 255)  # a colour only a camera frame sent after the reconnect can show
    await reactor.reconnect()
    await recorder.wait_for(lambda: reactor.status == "ready", "ready after reconnect")
    await wait_for_frame(reactor, lambda image: mean_rgb(image)[2] > 160 > 90 > mean_rgb(image)[0], "blue webcam")
    assert reactor.published_tracks == {"webcam": camera} and camera.readyState == "live"
    assert not recorder.errors, recorder.errors


async def test_reconnect_brings_frames_back(
    client: tuple[Reactor, Recorder], reactor_runtime: ReactorRuntimeServer
) -> None:
    reactor, recorder = client
    await connect_ready(reactor, recorder, reactor_runtime)
    await model_frame(reactor)
    session_id = reactor.get_session_id()

    await reactor.disconnect(recoverable=True)
    assert reactor.status == "disconnected"
    assert reactor.get_session_id() == session_id
    assert reactor.tracks == {}

    await reactor.reconnect()
    await recorder.wait_for(lambda: reactor.status == "ready", "ready after reconnect")
    assert recorder.statuses[-2:] == ["connecting", "ready"]
    await model_frame(reactor)

    # The data channel works on the new peer connection too.
    await reactor.send_command("ping", {"seq": 99})
    await recorder.wait_for(
        lambda: any(m.get("type") == "pong" and m["data"]["seq"] == 99 for m in recorder.messages),
        "the pong after reconnect",
    )


async def test_disconnect_ends_the_runtime_session(
    client: tuple[Reactor, Recorder], reactor_runtime: ReactorRuntimeServer
) -> None:
    reactor, recorder = client
    await connect_ready(reactor, recorder, reactor_runtime)
    await reactor.disconnect()
    assert reactor.get_session_id() is None

    async with asyncio.timeout(TIMEOUT_S):  # closing → ready: a new session can start
        while True:
            if await session_state(reactor_runtime) == "ready":
                break
            await asyncio.sleep(0.1)

    await connect_ready(reactor, recorder, reactor_runtime)
    await model_frame(reactor)


# -- the extra tracks: a second video output, audio out, audio in ----------------------------------------


def tone_hz(brightness: int) -> float:
    """The example's pitch at ``brightness`` (examples/reactor_runtime_demo/model.py; as our runtime's)."""
    return 220.0 + 8.8 * brightness


async def test_edges_video_is_the_gray_edges_at_half_size(
    client: tuple[Reactor, Recorder], reactor_runtime: ReactorRuntimeServer
) -> None:
    reactor, recorder = client
    await connect_ready(reactor, recorder, reactor_runtime)
    assert colourfulness(await model_frame(reactor)) > 20
    # Past the runtime's blank frames of a fresh peer (1280x720), the model's own: half size, gray, outlined.
    edges = await wait_for_frame(
        reactor,
        lambda image: image.shape == (HEIGHT // 2, WIDTH // 2, 3) and image.max() > 100,
        "the edges",
        "edges_video",
    )
    assert colourfulness(edges) < 6


async def test_main_audio_is_a_tone_that_follows_the_brightness(
    client: tuple[Reactor, Recorder], reactor_runtime: ReactorRuntimeServer
) -> None:
    reactor, recorder = client
    await connect_ready(reactor, recorder, reactor_runtime)
    await recorder.wait_for(lambda: "main_audio" in reactor.tracks, "the main_audio track")
    audio = reactor.tracks["main_audio"]
    await pitch_reaches(audio, tone_hz(50), PITCH_TOLERANCE_HZ, TIMEOUT_S)
    await reactor.send_command("set_brightness", {"value": 100})
    await pitch_reaches(audio, tone_hz(100), PITCH_TOLERANCE_HZ, TIMEOUT_S)


async def test_the_model_hears_the_published_microphone(
    client: tuple[Reactor, Recorder], reactor_runtime: ReactorRuntimeServer
) -> None:
    reactor, recorder = client
    await connect_ready(reactor, recorder, reactor_runtime)
    amplitude = 0.3
    sent_rms = amplitude / math.sqrt(2)
    await reactor.publish_track("microphone", SineTrack(1000.0, amplitude))

    def heard(predicate: Callable[[dict[str, Any]], bool], since: int = 0) -> Callable[[], Any]:
        return lambda: next(
            (m for m in recorder.messages[since:] if m.get("type") == "state_update" and predicate(m["data"])), None
        )

    update = await recorder.wait_for(
        heard(
            lambda d: (
                d["mic_pitch_hz"] is not None
                and abs(d["mic_pitch_hz"] - 1000.0) <= 30
                and abs(d["mic_level"] - sent_rms) <= 0.2 * sent_rms
            )
        ),
        "a state_update hearing the 1 kHz microphone",
    )
    assert update["data"]["brightness"] == 50
    mark = len(recorder.messages)
    await reactor.unpublish_track("microphone")
    silent = await recorder.wait_for(heard(lambda d: d["mic_level"] == 0, mark), "a state_update hearing nothing")
    assert silent["data"]["mic_pitch_hz"] is None
    assert not recorder.errors, recorder.errors
