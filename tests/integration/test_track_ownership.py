"""Long-lived tracks outlive the peer connections they are sent on (issue 12, items 1 and 2).

aiortc stops the track attached to a sender when the sender's loop ends (its peer closed or failed). The
caller's published track, the relay's model video and the page's camera are all long-lived and sent on
peer connections that come and go: connect/disconnect cycles, reconnects, page reloads. Each test here
asserts what a user sees: the model's output (its video shows the camera's colour only when the model
receives the camera), frames at the page, the track's state, the runtime's session count.
"""

from __future__ import annotations

import asyncio
import fractions
from collections.abc import AsyncIterator, Callable

import httpx
import numpy as np
import pytest
from aiortc import VideoStreamTrack
from aiortc.mediastreams import MediaStreamTrack
from av import VideoFrame
from client_helpers import HEIGHT, WAIT_S, WIDTH, Recorder, connected, frame_where, mean_rgb
from runtime_peer import RuntimePeer
from test_relay_peer import Page, SolidTrack, pixel_source, solid_frame

from reactor_web._media import DECODED, FrameView, MediaHub
from reactor_web.client import ErrorCode, Reactor
from reactor_web.relay.peer import BrowserPeer
from reactor_web.relay.tab import TabSession, TabSettings
from reactor_web.runtime.config import RuntimeConfig
from reactor_web.runtime.serve import serve_runtime

#: Camera colours, one per cycle: consecutive cycles differ, so a stale frame cannot pass for a fresh one.
PALETTE = [(210, 40, 40), (40, 200, 40), (40, 40, 210), (210, 200, 40), (200, 40, 200), (40, 200, 200)]
DARK = 16


class Camera(VideoStreamTrack):
    """A caller's camera: solid ``rgb`` frames at 30 fps; the test changes ``rgb`` between cycles."""

    def __init__(self, rgb: tuple[int, int, int]) -> None:
        super().__init__()
        self.rgb = rgb

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame.from_ndarray(np.full((HEIGHT, WIDTH, 3), self.rgb, np.uint8), format="rgb24")
        frame.pts, frame.time_base = pts, fractions.Fraction(time_base)
        return frame


def near(colour: tuple[int, int, int], tolerance: float = 14) -> Callable[[np.ndarray], bool]:
    return lambda rgb: float(np.abs(mean_rgb(rgb) - np.array(colour)).max()) < tolerance


@pytest.fixture
async def runtime_url() -> AsyncIterator[str]:
    async with serve_runtime(RuntimeConfig(port=0, width=WIDTH, height=HEIGHT, fps=30)) as url:
        yield url


async def runtime_sessions(url: str) -> int:
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        return int((await http.get("/health")).json()["sessions"])


# -- the client: the caller's own track ---------------------------------------------------------------


async def test_a_published_track_survives_fifteen_disconnects(runtime_url: str) -> None:
    camera = Camera(PALETTE[0])
    reactor = Reactor("reactor-web-demo", local=True, api_url=runtime_url)
    recorder = Recorder(reactor)
    try:
        for cycle in range(15):
            camera.rgb = PALETTE[cycle % len(PALETTE)]
            mark = len(recorder.events)
            await reactor.connect()
            await recorder.wait_status("ready", since=mark)
            await reactor.publish_track("webcam", camera)
            assert reactor.published_tracks == {"webcam": camera}
            await frame_where(reactor.tracks["main_video"], near(camera.rgb))  # the model sees this cycle's colour
            await reactor.disconnect()
            assert camera.readyState == "live", f"the caller's track ended at disconnect {cycle + 1}"
            assert reactor.published_tracks == {}  # the session is over: nothing is restored later
        frame = await asyncio.wait_for(camera.recv(), WAIT_S)  # and it still delivers frames
        assert near(PALETTE[14 % len(PALETTE)])(frame.to_ndarray(format="rgb24"))
    finally:
        await reactor.aclose()
    assert camera.readyState == "live"


@pytest.mark.parametrize(("flow", "cycles"), [("connections", 15), ("flat", 4)])
async def test_reconnect_restores_the_published_camera(runtime_url: str, flow: str, cycles: int) -> None:
    camera = Camera(PALETTE[0])
    reactor, recorder = await connected(runtime_url, signalling=flow)
    try:
        session_id = reactor.get_session_id()
        await reactor.publish_track("webcam", camera)
        await frame_where(reactor.tracks["main_video"], near(camera.rgb))
        for cycle in range(1, cycles + 1):
            await reactor.disconnect(recoverable=True)
            assert camera.readyState == "live", f"the caller's track ended at disconnect {cycle}"
            assert reactor.published_tracks == {"webcam": camera}  # kept for the reconnect
            camera.rgb = PALETTE[cycle % len(PALETTE)]
            mark = len(recorder.events)
            await reactor.reconnect()
            await recorder.wait_status("ready", since=mark)
            # The model receives the camera again, with no new publish_track call.
            await frame_where(reactor.tracks["main_video"], near(camera.rgb))
            assert reactor.published_tracks == {"webcam": camera}
        assert reactor.get_session_id() == session_id
        assert recorder.args("error") == []
        assert await runtime_sessions(runtime_url) == 1
    finally:
        await reactor.aclose()
    assert camera.readyState == "live"


async def test_unpublish_while_disconnected_is_not_restored(runtime_url: str) -> None:
    camera = Camera(PALETTE[2])
    reactor, recorder = await connected(runtime_url)
    try:
        await reactor.publish_track("webcam", camera)
        await frame_where(reactor.tracks["main_video"], near(camera.rgb))
        await reactor.disconnect(recoverable=True)
        await reactor.unpublish_track("webcam")
        assert reactor.published_tracks == {}
        mark = len(recorder.events)
        await reactor.reconnect()
        await recorder.wait_status("ready", since=mark)
        # The model goes back to its own scene (the camera is stale after 1 s), and stays there.
        await frame_where(reactor.tracks["main_video"], lambda rgb: not near(camera.rgb, 40)(rgb))
        for _ in range(30):
            assert not near(camera.rgb)(await frame_where(reactor.tracks["main_video"], lambda _rgb: True))
    finally:
        await reactor.aclose()


async def test_a_publication_that_cannot_be_restored_is_reported(runtime_url: str) -> None:
    camera = Camera(PALETTE[1])
    reactor, recorder = await connected(runtime_url)  # the connections flow: publishing claims a slot
    try:
        await reactor.publish_track("webcam", camera)
        await frame_where(reactor.tracks["main_video"], near(camera.rgb))
        await reactor.disconnect(recoverable=True)
        # Meanwhile another client of the same session takes the webcam slot.
        async with httpx.AsyncClient(base_url=runtime_url, timeout=10) as http:
            session = (await http.get(f"/sessions/{reactor.get_session_id()}")).json()
            other = RuntimePeer(http, session, webcam_color=(250, 250, 250), control=True)
            await other.create_connection()
            await other.connect()
            request_id = other.request("publish_track", {"name": "webcam"})
            granted = await other.control_messages.wait_for(lambda m: str(m.get("request_id")) == str(request_id))
            assert "error" not in granted, granted
            try:
                mark = len(recorder.events)
                await reactor.reconnect()
                await recorder.wait_status("ready", since=mark)
                error = (await recorder.wait("error", since=mark))[0]
                assert error.code == ErrorCode.TRACK_PUBLISH_FAILED and '"webcam"' in error.message
                assert "no longer published" in error.message
                assert reactor.published_tracks == {}
                assert reactor.get_last_error() is error
                assert camera.readyState == "live"
            finally:
                await other.close()
    finally:
        await reactor.aclose()


# -- the relay: the model video and the page's camera -------------------------------------------------


def latest(track: MediaStreamTrack) -> FrameView:
    """A latest-frame view of a page's received track (so a test reading it now and then sees fresh frames)."""
    hub = MediaHub("video", DECODED, ends_with_source=True)
    view = hub.subscribe()
    hub.set_source(track)
    return view


async def frame_at_page(view: FrameView, predicate: Callable[[np.ndarray], bool]) -> np.ndarray:
    return await frame_where(view, predicate, within=WAIT_S * 2)


async def test_a_reoffer_gets_the_model_video_again() -> None:
    """A reload re-offers on a new peer connection; closing the old one must not end the model video."""
    peer = BrowserPeer(heartbeat_timeout_s=3600)
    pages: list[Page] = []
    gpu = pixel_source(peer)

    async def feed() -> None:
        for i in range(100_000):
            gpu.push(solid_frame((200, 30, 30), i * 3000))
            await asyncio.sleep(1 / 30)  # a 30 fps source

    feeder = asyncio.create_task(feed())
    try:
        for _ in range(3):  # the first load and two reloads
            page = Page()
            pages.append(page)
            await page.answer(await peer.accept_offer(await page.offer()))
            view = latest(await asyncio.wait_for(page.model_track, WAIT_S))
            image = await frame_at_page(view, lambda im: im[..., 0].mean() > 150)
            assert image[..., 1].mean() < 80  # red, as the model video
    finally:
        feeder.cancel()
        for page in pages:
            await page.pc.close()
        await peer.close()


async def tab_page(tab: TabSession, camera: SolidTrack) -> tuple[Page, FrameView]:
    page = Page(camera=camera)
    await page.answer(await tab.accept_offer(await page.offer()))
    return page, latest(await asyncio.wait_for(page.model_track, WAIT_S))


async def test_the_page_camera_reaches_the_model_after_twelve_connect_cycles(runtime_url: str) -> None:
    tab = TabSession(TabSettings("reactor-web-demo", api_url=runtime_url, local=True, heartbeat_timeout_s=3600))
    recorder = Recorder(tab.reactor)
    camera = SolidTrack(PALETTE[0])
    page, video = await tab_page(tab, camera)
    try:
        tab.set_webcam_wanted(True)
        for cycle in range(12):
            camera.rgb = PALETTE[cycle % len(PALETTE)]
            mark = len(recorder.events)
            tab.connect()
            await recorder.wait_status("ready", since=mark)
            # The model's output, as the page shows it, is the page's camera: the model receives it.
            await frame_at_page(video, near(camera.rgb, 24))
            mark = len(recorder.events)
            tab.disconnect()
            await recorder.wait_status("disconnected", since=mark)
        assert await runtime_sessions(runtime_url) == 0
    finally:
        await page.pc.close()
        await tab.close()


async def test_a_reload_resumes_the_same_session_with_video_and_camera(runtime_url: str) -> None:
    tab = TabSession(TabSettings("reactor-web-demo", api_url=runtime_url, local=True, heartbeat_timeout_s=3600))
    recorder = Recorder(tab.reactor)
    first, video = await tab_page(tab, SolidTrack(PALETTE[0]))
    pages = [first]
    try:
        tab.connect()
        await recorder.wait_status("ready")
        session_id = tab.reactor.get_session_id()
        await frame_at_page(video, lambda rgb: rgb.mean() > DARK)
        tab.set_webcam_wanted(True)
        await frame_at_page(video, near(PALETTE[0], 24))
        for reload in range(1, 4):
            colour = PALETTE[reload % len(PALETTE)]
            page, video = await tab_page(tab, SolidTrack(colour))  # F5: a new page offers a new peer connection
            pages.append(page)
            await frame_at_page(video, lambda rgb: rgb.mean() > DARK)  # model video, not black
            await frame_at_page(video, near(colour, 24))  # and the new page's camera reaches the model
            assert tab.reactor.get_session_id() == session_id
            assert tab.reactor.status == "ready"
            assert await runtime_sessions(runtime_url) == 1
    finally:
        for page in pages:
            await page.pc.close()
        await tab.close()
    assert await runtime_sessions(runtime_url) == 0
