"""Every track of the demo model over real WebRTC on loopback (issue 13): our client ⇄ the embedded runtime.

Two video outputs (the picture and its edges), the model's tone, and a microphone the model listens to.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from client_helpers import HEIGHT, WAIT_S, WIDTH, connected, frame_where
from media_helpers import RATE, SineTrack, collect, colourfulness, pitch_hz, pitch_reaches, rms
from runtime_peer import FrameSink, SolidColorTrack

from reactor_web._media import DECODED, MediaHub
from reactor_web.protocol.constants import MAIN_AUDIO_TRACK, MAIN_VIDEO_TRACK, MICROPHONE_TRACK, WEBCAM_TRACK
from reactor_web.protocol.schemas import sdp_offer_body
from reactor_web.runtime import RuntimeConfig, serve_runtime
from reactor_web.runtime.audio import tone_hz
from reactor_web.runtime.model import EDGES_VIDEO_TRACK

#: What the received tone's pitch may be off by after Opus and a 0.2 s FFT (5 Hz bins).
PITCH_TOLERANCE_HZ = 15.0
MIC_HZ, MIC_AMPLITUDE = 1000.0, 0.3


@pytest.fixture
async def runtime_url() -> AsyncIterator[str]:
    async with serve_runtime(RuntimeConfig(port=0, width=WIDTH, height=HEIGHT, fps=30)) as url:
        yield url


class Microphone:
    """A microphone stand-in: a hub of decoded frames reading a real-time sine."""

    def __init__(self, hz: float, amplitude: float) -> None:
        self.hub = MediaHub("audio", DECODED, name="test-microphone")
        self.hub.set_source(SineTrack(hz, amplitude))

    async def close(self) -> None:
        await self.hub.close()


def heard(predicate: Any) -> Any:
    """A ``message`` event predicate: a ``state_update`` whose data satisfies ``predicate``."""
    return lambda m: m.get("type") == "state_update" and predicate(m["data"])


async def test_every_output_arrives_as_the_model_defines_it(runtime_url: str) -> None:
    reactor, _ = await connected(runtime_url)
    try:
        caps = reactor.get_capabilities()
        assert caps is not None
        assert [(t.name, t.kind, t.direction) for t in caps.tracks] == [
            (MAIN_VIDEO_TRACK, "video", "recvonly"),
            (EDGES_VIDEO_TRACK, "video", "recvonly"),
            (MAIN_AUDIO_TRACK, "audio", "recvonly"),
            (WEBCAM_TRACK, "video", "sendonly"),
            (MICROPHONE_TRACK, "audio", "sendonly"),
        ]
        main = await frame_where(reactor.tracks[MAIN_VIDEO_TRACK], lambda _rgb: True)
        assert main.shape == (HEIGHT, WIDTH, 3) and colourfulness(main) > 20
        edges = await frame_where(reactor.tracks[EDGES_VIDEO_TRACK], lambda _rgb: True)
        assert edges.shape == (HEIGHT // 2, WIDTH // 2, 3)
        assert colourfulness(edges) < 6 and edges.max() > 100  # gray, with bright outlines

        audio = reactor.tracks[MAIN_AUDIO_TRACK]
        samples = await collect(audio, 0.4)
        assert abs(pitch_hz(samples[-RATE // 5 :]) - tone_hz(50)) <= PITCH_TOLERANCE_HZ
        assert 0.1 < rms(samples) < 0.3  # the tone's 0.25 peak (RMS 0.18), not silence, not clipping
        await reactor.send_command("set_brightness", {"value": 100})
        await pitch_reaches(audio, tone_hz(100), PITCH_TOLERANCE_HZ)
    finally:
        await reactor.aclose()


async def test_the_model_hears_the_microphone_until_it_is_unpublished(runtime_url: str) -> None:
    reactor, recorder = await connected(runtime_url)
    microphone = Microphone(MIC_HZ, MIC_AMPLITUDE)
    sent_rms = MIC_AMPLITUDE / np.sqrt(2)
    try:
        await reactor.publish_track(MICROPHONE_TRACK, microphone.hub.subscribe())
        update = await recorder.wait(
            "message",
            heard(
                lambda d: (
                    d["mic_pitch_hz"] is not None
                    and abs(d["mic_pitch_hz"] - MIC_HZ) <= 30
                    and abs(d["mic_level"] - sent_rms) <= 0.2 * sent_rms
                )
            ),
        )
        assert update[0]["data"]["brightness"] == 50  # the whole state, as after a command
        # The meter: a bar rising from the bottom of the picture's left edge.
        await frame_where(reactor.tracks[MAIN_VIDEO_TRACK], lambda rgb: rgb[-5:, :4, 1].mean() > 150)

        mark = len(recorder.events)
        await reactor.unpublish_track(MICROPHONE_TRACK)
        silent = await recorder.wait("message", heard(lambda d: d["mic_level"] == 0), since=mark)
        assert silent[0]["data"]["mic_pitch_hz"] is None
    finally:
        await microphone.close()
        await reactor.aclose()


async def test_an_offer_without_track_mapping_pairs_tracks_by_kind_and_direction(runtime_url: str) -> None:
    """A JS SDK-style offer with just a recvonly and a sendonly video m-section and no ``track_mapping``:
    the model's picture goes to the first, the second is its webcam (the other tracks are not offered)."""
    red = (220, 30, 30)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    sink: FrameSink | None = None
    async with httpx.AsyncClient(base_url=runtime_url, timeout=10) as http:
        try:
            sid = (await http.post("/start_session", json={})).json()["session_id"]
            pc.createDataChannel("data")
            received: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()
            pc.on("track", received.set_result)
            pc.addTransceiver("video", direction="recvonly")
            pc.addTransceiver("video", direction="sendonly").sender.replaceTrack(SolidColorTrack(red))
            await pc.setLocalDescription(await pc.createOffer())
            transport = f"/sessions/{sid}/transport/webrtc/sdp_params"
            response = await http.post(transport, json=sdp_offer_body(pc.localDescription.sdp, []))
            assert response.status_code == 202, response.text
            async with asyncio.timeout(WAIT_S):
                while True:
                    answer = await http.get(transport)
                    if answer.status_code != 202:
                        break
                    await asyncio.sleep(0.05)  # the answer is only observable by polling
            await pc.setRemoteDescription(RTCSessionDescription(answer.json()["sdp_answer"], "answer"))
            async with asyncio.timeout(WAIT_S):
                sink = FrameSink(await received)
            await sink.wait_for(lambda rgb: rgb.shape == (HEIGHT, WIDTH, 3) and rgb[..., 0].mean() > 150)
        finally:
            if sink is not None:
                sink.stop()
            await pc.close()
