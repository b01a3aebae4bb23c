"""Encoded passthrough (issue 14): the relay forwards the GPU's video and sound to the page as the GPU encoded them.

Real aiortc peers on loopback: embedded runtime → our client → the tab's relay → an aiortc "page". The page's
model receiver is tapped like the client's, so the test sees the encoded frames the page receives and can
compare them, byte for byte, with those the client received from the GPU.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable

import av
import numpy as np
import pytest
from aiortc import RTCRtpSender
from client_helpers import HEIGHT, WAIT_S, WIDTH, Recorder
from media_helpers import RATE, collect, pitch_hz
from test_relay_peer import Page, SolidTrack
from test_relay_tracks import MultiPage
from test_track_ownership import latest, near

from reactor_web._aiortc import install_jitter_buffer, tap_encoded_frames
from reactor_web._encoded import VP8, EncodedTap, is_keyframe
from reactor_web._media import ENCODED, MediaHub
from reactor_web.client.tracks import TrackFeed
from reactor_web.protocol.constants import MAIN_AUDIO_TRACK, MAIN_VIDEO_TRACK
from reactor_web.relay.tab import TabSession, TabSettings
from reactor_web.runtime.audio import tone_hz
from reactor_web.runtime.config import RuntimeConfig
from reactor_web.runtime.serve import serve_runtime


class Recording(MediaHub[av.Packet]):
    """An encoded hub that remembers a checksum of every frame it is offered, and wakes waiters."""

    def __init__(self, name: str = "", kind: str = "video") -> None:
        super().__init__(kind, ENCODED, name=name)
        self.digests: list[bytes] = []
        #: Whether each frame offered was a keyframe, in order.
        self.key_flags: list[bool] = []
        self.keyframes = 0
        self._changed = asyncio.Event()

    def push(self, frame: av.Packet) -> None:
        super().push(frame)
        self.digests.append(hashlib.sha256(bytes(frame)).digest())
        self.key_flags.append(frame.is_keyframe)
        self.keyframes += frame.is_keyframe
        self._changed.set()

    async def until(self, predicate: Callable[[], bool], what: str, within: float = WAIT_S) -> None:
        try:
            async with asyncio.timeout(within):
                while not predicate():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            pytest.fail(f"not {what} within {within:g} s ({len(self.digests)} frames, {self.keyframes} keyframes)")


class TappedPage(Page):
    """A page whose model receiver hands its encoded frames to ``received`` (and still decodes them)."""

    def __init__(self, camera: SolidTrack | None = None, codec: str | None = None) -> None:
        super().__init__(camera)
        self.received = Recording("page")
        if codec is not None:  # what a browser that cannot take the GPU's codec offers
            capabilities = RTCRtpSender.getCapabilities("video").codecs
            self.model.setCodecPreferences([c for c in capabilities if c.mimeType == codec])
        install_jitter_buffer(self.model.receiver)
        tap = tap_encoded_frames(self.model, self.received, lambda: True)
        assert tap is not None
        self.tap: EncodedTap = tap


@pytest.fixture
async def runtime_url() -> AsyncIterator[str]:
    async with serve_runtime(RuntimeConfig(port=0, width=WIDTH, height=HEIGHT, fps=30)) as url:
        yield url


@pytest.fixture
async def tab(runtime_url: str) -> AsyncIterator[TabSession]:
    tab = TabSession(TabSettings("reactor-web-demo", api_url=runtime_url, local=True, heartbeat_timeout_s=3600))
    try:
        yield tab
    finally:
        await tab.close()


async def open_page(tab: TabSession, page: TappedPage) -> None:
    await page.answer(await tab.accept_offer(await page.offer()))


async def connect(tab: TabSession) -> TrackFeed:
    recorder = Recorder(tab.reactor)
    tab.connect()
    await recorder.wait_status("ready")
    await recorder.wait("stream_changed", lambda track: track is not None)
    transport = tab.reactor._transport
    assert transport is not None
    return transport.feeds[MAIN_VIDEO_TRACK]


def gpu_recording(feed: TrackFeed) -> Recording:
    """Every encoded frame the client receives from the GPU from now on (a hub forwarding the client's)."""
    assert feed.encoded is not None
    recording = Recording("gpu")
    recording.set_source(feed.encoded)
    return recording


async def test_the_page_receives_the_gpus_frames_bit_identical_and_nothing_is_decoded(tab: TabSession) -> None:
    page = TappedPage()
    try:
        await open_page(tab, page)
        feed = await connect(tab)
        gpu = gpu_recording(feed)
        assert tab.peer.relay_mode == "passthrough"
        assert feed.tap is not None
        decoded_before = feed.tap.frames_decoded

        await page.received.until(lambda: len(page.received.digests) >= 60, "60 frames at the page")
        # Every frame the page got is one the GPU sent, unchanged (the relay encoded none of its own) ...
        sent = set(gpu.digests)
        forwarded = [d for d in page.received.digests[-30:] if d in sent]
        assert len(forwarded) == 30, f"{30 - len(forwarded)} of the page's last 30 frames are not the GPU's"
        # ... and the backend decoded none while nothing asked for pixels.
        assert feed.tap.frames_decoded == decoded_before
        # The page's own decoder shows the model's picture.
        image = (await asyncio.wait_for(latest(await page.model_track).recv(), WAIT_S)).to_ndarray(format="rgb24")
        assert image.shape == (HEIGHT, WIDTH, 3) and image.mean() > 16
    finally:
        await page.pc.close()


async def test_pixels_are_decoded_only_while_an_app_reads_them(tab: TabSession) -> None:
    page = TappedPage()
    try:
        await open_page(tab, page)
        feed = await connect(tab)
        gpu = gpu_recording(feed)
        assert feed.tap is not None
        view = tab.reactor.tracks[MAIN_VIDEO_TRACK]

        # An app reading the track gets decoded frames (starting at a keyframe the GPU is asked for).
        for _ in range(10):
            frame = await asyncio.wait_for(view.recv(), WAIT_S)
        assert frame.to_ndarray(format="rgb24").shape == (HEIGHT, WIDTH, 3)
        assert feed.tap.frames_decoded >= 10

        # It stops reading: once its demand window has passed, frames keep arriving undecoded.
        await gpu.until(lambda: not feed.demanded(), "the read window over", within=WAIT_S)
        decoded = feed.tap.frames_decoded
        arrived = len(gpu.digests)
        await gpu.until(lambda: len(gpu.digests) >= arrived + 30, "30 more frames")
        assert feed.tap.frames_decoded == decoded
    finally:
        await page.pc.close()


async def test_a_keyframe_request_from_the_page_gets_a_keyframe_from_the_gpu(tab: TabSession) -> None:
    page = TappedPage()
    try:
        await open_page(tab, page)
        await connect(tab)
        received = page.received
        await received.until(lambda: received.keyframes >= 1 and len(received.digests) >= 30, "a steady stream")
        # The GPU's encoder makes a keyframe only when asked (aiortc's VP8 GOP is 3000 frames): none comes
        # by itself during this test, so one that arrives was made for the page's request.
        keyframes = received.keyframes
        assert page.tap._ssrc is not None
        await page.model.receiver._send_rtcp_pli(page.tap._ssrc)
        await received.until(lambda: received.keyframes > keyframes, "a keyframe after the page's PLI")
    finally:
        await page.pc.close()


async def test_a_page_joining_mid_stream_starts_at_a_keyframe(tab: TabSession) -> None:
    first = TappedPage()
    pages = [first]
    try:
        await open_page(tab, first)
        await connect(tab)
        await first.received.until(lambda: len(first.received.digests) >= 60, "the first page streaming")
        second = TappedPage()  # a reload: a new connection, long after the GPU's first keyframe
        pages.append(second)
        await open_page(tab, second)
        await second.received.until(lambda: second.received.keyframes >= 1, "a keyframe for the new page")
        # A delta frame before it could not be decoded: the relay sends none, it waits for the keyframe.
        assert second.received.key_flags[0], "the new page's first frame is not a keyframe"
        image = (await asyncio.wait_for(latest(await second.model_track).recv(), WAIT_S)).to_ndarray(format="rgb24")
        assert image.mean() > 16
    finally:
        for page in pages:
            await page.pc.close()


async def test_a_page_that_cannot_take_the_gpus_codec_gets_it_transcoded(tab: TabSession) -> None:
    camera = SolidTrack((40, 40, 210))
    page = TappedPage(camera, codec="video/H264")
    try:
        await open_page(tab, page)
        tab.set_webcam_wanted(True)
        feed = await connect(tab)
        assert feed.encoded is not None and feed.encoded.codec == VP8
        assert tab.peer.relay_mode == "transcode"
        # The same pixels as ever: the demo model shows the page's camera, decoded and encoded again as H.264.
        view = latest(await page.model_track)
        async with asyncio.timeout(WAIT_S * 2):
            while not near(camera.rgb, 24)((await view.recv()).to_ndarray(format="rgb24")):
                pass
        assert page.received.codec == "video/H264"
        assert feed.tap is not None and feed.tap.frames_decoded > 0  # the relay asked for pixels
    finally:
        await page.pc.close()


def test_keyframes_are_recognised_per_codec() -> None:
    assert is_keyframe(VP8, bytes([0b1001_0000, 0, 0]))  # P bit 0: a key frame
    assert not is_keyframe(VP8, bytes([0b1001_0001, 0, 0]))
    assert not is_keyframe(VP8, b"")
    idr = b"\x00\x00\x00\x01\x67\x42" + b"\x00\x00\x01\x65\x88"
    delta = b"\x00\x00\x00\x01\x41\x9a"
    assert is_keyframe("video/H264", idr) and not is_keyframe("video/H264", delta)
    assert not is_keyframe("video/rtx", np.zeros(4, np.uint8).tobytes())


# -- the page's camera, page → GPU ---------------------------------------------------------------------


async def test_the_pages_camera_reaches_the_model_as_the_browser_encoded_it(tab: TabSession) -> None:
    camera = SolidTrack((210, 40, 40))
    page = TappedPage(camera)
    try:
        await open_page(tab, page)
        tab.set_webcam_wanted(True)
        await connect(tab)
        transport = tab.reactor._transport
        assert transport is not None
        # The demo model shows the camera: the page sees its own colour come back from the GPU ...
        view = latest(await page.model_track)
        async with asyncio.timeout(WAIT_S * 2):
            while not near(camera.rgb, 24)((await view.recv()).to_ndarray(format="rgb24")):
                pass
        # ... sent on as the page's encoder made it: the backend decoded none of the camera's frames.
        published = transport.published["webcam"]
        assert published.passthrough
        [webcam_tap] = tab.peer._taps
        assert webcam_tap.frames_decoded == 0
    finally:
        await page.pc.close()


async def test_a_keyframe_request_from_the_gpu_reaches_the_pages_encoder(tab: TabSession) -> None:
    page = TappedPage(SolidTrack((40, 200, 40)))
    try:
        await open_page(tab, page)
        tab.set_webcam_wanted(True)
        await connect(tab)
        camera = Recording("camera at the backend")
        camera.set_source(tab.peer.input("webcam", "video").encoded)
        await camera.until(lambda: len(camera.digests) >= 30, "the camera streaming")
        keyframes = camera.keyframes
        transport = tab.reactor._transport
        assert transport is not None
        # What aiortc does when the runtime's receiver sends a PLI for the camera.
        transport.transceivers["webcam"].sender._send_keyframe()
        await camera.until(lambda: camera.keyframes > keyframes, "a keyframe from the page's encoder")
    finally:
        await page.pc.close()


async def test_the_models_sound_reaches_the_page_as_the_gpu_encoded_it_and_nothing_is_decoded(
    runtime_url: str,
) -> None:
    """Audio passthrough: the page gets the GPU's Opus packets unchanged; the backend decodes no audio."""
    tab = TabSession(TabSettings("reactor-web-demo", api_url=runtime_url, local=True, heartbeat_timeout_s=3600))
    page = MultiPage([("main_video", "video", "recvonly"), ("main_audio", "audio", "recvonly")], {})
    heard = Recording("page-audio", kind="audio")
    receiver = page.transceivers["main_audio"]
    install_jitter_buffer(receiver.receiver, "audio")
    assert tap_encoded_frames(receiver, heard, lambda: True) is not None  # the page still decodes what it gets
    try:
        await page.answer(await tab.accept_offer(await page.offer()))
        await connect(tab)
        transport = tab.reactor._transport
        assert transport is not None
        feed = transport.feeds[MAIN_AUDIO_TRACK]
        gpu = Recording("gpu-audio", kind="audio")
        gpu.set_source(feed.encoded)
        assert feed.tap is not None
        decoded_before = feed.tap.frames_decoded

        await heard.until(lambda: len(heard.digests) >= 100, "100 audio packets at the page")
        sent = set(gpu.digests)
        forwarded = [d for d in heard.digests[-50:] if d in sent]
        assert len(forwarded) == 50, f"{50 - len(forwarded)} of the page's last 50 packets are not the GPU's"
        assert feed.tap.frames_decoded == decoded_before  # no audio decoded in the backend
        # The page's own decoder hears the model's tone (brightness 50).
        samples = await collect(await page.received["main_audio"], 0.4)
        assert abs(pitch_hz(samples[-RATE // 5 :]) - tone_hz(50)) <= 15
    finally:
        await page.pc.close()
        await tab.close()
