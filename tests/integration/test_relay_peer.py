"""The browser leg on real aiortc peers: an aiortc "page" offers like reactor_web/ui/components.jsx does."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from av import VideoFrame

from reactor_web._media import DECODED, FrameHub, MediaHub
from reactor_web.relay.peer import BrowserPeer, OfferError, RelayOffer, RelayTrack
from reactor_web.relay.timeline import PageMarks


class PeerEvents:
    """A ``PeerListener`` handing each notification to the callable given for it (sync or async); the rest are
    dropped."""

    def __init__(
        self,
        *,
        dead: Callable[[str], Any] | None = None,
        stats: Callable[[dict[str, Any]], Any] | None = None,
        inputs: Callable[[dict[str, Any]], Any] | None = None,
        marks: Callable[[PageMarks], Any] | None = None,
        sent: Callable[[str, float], Any] | None = None,
    ) -> None:
        self._dead, self._stats, self._inputs, self._marks, self._sent = dead, stats, inputs, marks, sent

    def on_relay_mode(self, mode: str) -> None:
        pass

    def on_inputs_offered(self, inputs: dict[str, Any]) -> None:
        if self._inputs is not None:
            self._inputs(inputs)

    def on_browser_stats(self, stats: dict[str, Any]) -> None:
        if self._stats is not None:
            self._stats(stats)

    def on_page_marks(self, marks: PageMarks) -> None:
        if self._marks is not None:
            self._marks(marks)

    def on_frame_sent(self, name: str, at: float) -> None:
        if self._sent is not None:
            self._sent(name, at)

    async def on_dead(self, reason: str) -> None:
        if self._dead is not None:
            result = self._dead(reason)
            if inspect.isawaitable(result):
                await result


def solid_frame(rgb: tuple[int, int, int], pts: int = 0) -> VideoFrame:
    frame = VideoFrame.from_ndarray(np.full((144, 256, 3), rgb, np.uint8), format="rgb24")
    frame.pts, frame.time_base = pts, Fraction(1, 90_000)
    return frame


class SolidTrack(MediaStreamTrack):
    """A camera stand-in: a solid colour at ~30 fps."""

    kind = "video"

    def __init__(self, rgb: tuple[int, int, int]) -> None:
        super().__init__()
        self.rgb, self.count = rgb, 0

    async def recv(self) -> VideoFrame:
        await asyncio.sleep(1 / 30)
        self.count += 1
        return solid_frame(self.rgb, self.count * 3000)


def page_offer(sdp: str, model_mid: str | None, webcam_mid: str | None = None) -> RelayOffer:
    """The offer of a page showing ``main_video`` on ``model_mid`` and sending ``webcam`` on ``webcam_mid``."""
    tracks = [RelayTrack("main_video", "video", "recvonly", str(model_mid))]
    if webcam_mid is not None:
        tracks.append(RelayTrack("webcam", "video", "sendonly", webcam_mid))
    return RelayOffer(sdp, tuple(tracks))


class Page:
    """An aiortc peer that offers like the dashboard's JavaScript relay."""

    def __init__(self, camera: MediaStreamTrack | None = None) -> None:
        self.pc = RTCPeerConnection()
        self.channel = self.pc.createDataChannel("relay")
        self.model = self.pc.addTransceiver("video", direction="recvonly")
        self.webcam = self.pc.addTransceiver("video", direction="sendonly")
        if camera is not None:
            self.webcam.sender.replaceTrack(camera)
        self.model_track: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()
        self.pc.on("track", lambda track: self.model_track.done() or self.model_track.set_result(track))

    async def offer(self) -> RelayOffer:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return page_offer(self.pc.localDescription.sdp, self.model.mid, self.webcam.mid)

    async def answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))


def pixel_source(peer: BrowserPeer) -> FrameHub:
    """A GPU video the relay gets only decoded (no encoded frames to forward): it transcodes it for the page."""
    gpu = MediaHub("video", DECODED, name="gpu")
    peer.set_source("main_video", "video", gpu.subscribe(), None)
    return gpu


async def connect(peer: BrowserPeer, page: Page) -> None:
    await page.answer(await peer.accept_offer(await page.offer()))


async def next_frame_where(track: MediaStreamTrack, predicate, within: float = 10.0) -> np.ndarray:
    async def loop() -> np.ndarray:
        while True:
            image = (await track.recv()).to_ndarray(format="rgb24")
            if predicate(image):
                return image

    return await asyncio.wait_for(loop(), within)


async def test_model_frames_reach_the_page_and_the_camera_reaches_the_backend() -> None:
    peer = BrowserPeer()
    page = Page(camera=SolidTrack((20, 200, 20)))
    camera_view = peer.input("webcam", "video").frames.subscribe()
    gpu = pixel_source(peer)
    try:
        await connect(peer, page)
        assert peer.relay_mode == "transcode"

        async def feed() -> None:
            for i in range(300):
                gpu.push(solid_frame((200, 30, 30), i * 3000))
                await asyncio.sleep(1 / 30)

        feeder = asyncio.create_task(feed())
        received = await asyncio.wait_for(page.model_track, 10)
        image = await next_frame_where(received, lambda im: im[..., 0].mean() > 150)
        assert image[..., 1].mean() < 80  # red, as pushed

        camera = await next_frame_where(camera_view, lambda im: im[..., 1].mean() > 150)
        assert camera[..., 0].mean() < 80  # green, as the page's camera sends
        feeder.cancel()
    finally:
        await page.pc.close()
        await peer.close()


async def test_a_silent_page_is_declared_dead() -> None:
    dead = asyncio.Event()

    async def on_dead(reason: str) -> None:
        dead.set()

    peer = BrowserPeer(heartbeat_timeout_s=0.5, listener=PeerEvents(dead=on_dead))
    page = Page()
    try:
        await connect(peer, page)
        await asyncio.wait_for(dead.wait(), 5)  # the page never beats
    finally:
        await page.pc.close()
        await peer.close()


async def test_a_page_that_never_offers_is_released_after_the_connect_timeout() -> None:
    """A tab made by a page's first event, whose page went away before its relay offered: nothing else ends it."""
    reasons: asyncio.Queue[str] = asyncio.Queue()
    peer = BrowserPeer(heartbeat_timeout_s=0.2, connect_timeout_s=0.8, listener=PeerEvents(dead=reasons.put))
    try:
        reason = await asyncio.wait_for(reasons.get(), 10)
        assert reason == "released after 0.8 s without the page's relay connecting"
    finally:
        await peer.close()


async def test_an_answered_offer_whose_relay_never_comes_up_is_released() -> None:
    """The page offered, then vanished before ICE: no channel ever opens on the answered connection."""
    reasons: asyncio.Queue[str] = asyncio.Queue()
    peer = BrowserPeer(heartbeat_timeout_s=0.2, connect_timeout_s=1.0, listener=PeerEvents(dead=reasons.put))
    page = Page()
    try:
        await peer.accept_offer(await page.offer())
        await page.pc.close()  # the answer never reaches it
        reason = await asyncio.wait_for(reasons.get(), 10)
        assert reason == "released after 1 s without the page's relay connecting"
    finally:
        await peer.close()


async def test_a_slow_relay_gets_the_connect_timeout_not_the_heartbeat_timeout() -> None:
    """Until its channel opens, the relay is judged by the connect timeout; once open, by the heartbeat."""
    reasons: asyncio.Queue[str] = asyncio.Queue()
    peer = BrowserPeer(heartbeat_timeout_s=0.4, connect_timeout_s=30, listener=PeerEvents(dead=reasons.put))
    page = Page()
    try:
        offer = await page.offer()
        await asyncio.sleep(1.2)  # a loaded machine: the page takes three heartbeat timeouts to offer
        assert reasons.empty()
        await page.answer(await peer.accept_offer(offer))
        # Open, and then silent: the heartbeat timeout applies.
        reason = await asyncio.wait_for(reasons.get(), 20)
        assert reason == "released after 0.4 s without a heartbeat from the page"
    finally:
        await page.pc.close()
        await peer.close()


async def test_beats_keep_the_page_alive_and_carry_browser_stats() -> None:
    dead = asyncio.Event()

    async def on_dead(reason: str) -> None:
        dead.set()

    stats: asyncio.Queue[dict] = asyncio.Queue()
    peer = BrowserPeer(heartbeat_timeout_s=0.6, listener=PeerEvents(dead=on_dead, stats=stats.put_nowait))
    page = Page()
    try:
        await connect(peer, page)
        opened = asyncio.Event()
        page.channel.on("open", opened.set)
        await asyncio.wait_for(opened.wait(), 10)
        for i in range(8):  # 1.6 s of beats, well past the timeout; like the page's, every other one has stats
            beat = {"t": i, "stats": {"frames_per_second": 30}} if i % 2 else {"t": i}
            page.channel.send(json.dumps(beat))
            await asyncio.sleep(0.2)
        assert not dead.is_set()
        assert [stats.get_nowait() for _ in range(stats.qsize())] == [{"frames_per_second": 30}] * 4
    finally:
        await page.pc.close()
        await peer.close()


async def test_a_page_whose_websocket_stays_down_is_released_though_it_beats() -> None:
    reasons: asyncio.Queue[str] = asyncio.Queue()
    peer = BrowserPeer(heartbeat_timeout_s=0.6, listener=PeerEvents(dead=reasons.put))
    page = Page()
    try:
        await connect(peer, page)
        opened = asyncio.Event()
        page.channel.on("open", opened.set)
        await asyncio.wait_for(opened.wait(), 10)
        # A blip shorter than the timeout, then the websocket back: kept.
        for i in range(8):
            page.channel.send(json.dumps({"t": i, "ws": False} if i < 2 else {"t": i}))
            await asyncio.sleep(0.2)
        assert reasons.empty()
        # Beating on, the websocket away for longer than the timeout: released, saying why.
        for i in range(8):
            page.channel.send(json.dumps({"t": i, "ws": False}))
            await asyncio.sleep(0.2)
        reason = await asyncio.wait_for(reasons.get(), 5)
        assert "without the page's connection to the backend" in reason
    finally:
        await page.pc.close()
        await peer.close()


@pytest.mark.parametrize(
    "raw",
    ["not json", "{}", json.dumps({"sdp": "hello", "tracks": []}), json.dumps({"sdp": "v=0\r\n"})],
)
def test_bad_offers_are_refused_clearly(raw: str) -> None:
    with pytest.raises(OfferError):
        RelayOffer.parse(raw)


async def test_malformed_sdp_is_refused_and_the_peer_survives() -> None:
    peer = BrowserPeer()
    try:
        with pytest.raises(OfferError):
            await peer.accept_offer(page_offer("v=0\r\nthis is not sdp\r\n", "0", "1"))
        page = Page()
        await connect(peer, page)  # a good offer still works afterwards
        await page.pc.close()
    finally:
        await peer.close()


async def test_latest_frame_views_drop_rather_than_queue() -> None:
    hub = MediaHub("video", DECODED)
    track = hub.subscribe()
    for i in range(100):
        hub.push(solid_frame((i, i, i), i))
    frame = await track.recv()
    assert frame.to_ndarray(format="rgb24")[0, 0, 0] == 99  # only the newest frame is kept
    assert track.frames_dropped == 99
    await hub.close()


async def test_a_released_relay_tells_the_page_why_before_it_closes() -> None:
    peer = BrowserPeer(heartbeat_timeout_s=0.5)  # no owner: the peer closes itself when the page goes silent
    page = Page()
    said: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    page.channel.on("message", lambda m: said.done() or said.set_result(m))
    try:
        await connect(peer, page)
        bye = json.loads(await asyncio.wait_for(said, 10))  # the page never beats
        assert bye == {"type": "bye", "reason": "released after 0.5 s without a heartbeat from the page"}
        with pytest.raises(OfferError, match="closed"):  # its owner makes a fresh relay for the re-offer
            await peer.accept_offer(await page.offer())
    finally:
        await page.pc.close()
        await peer.close()
