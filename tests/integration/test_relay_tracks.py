"""The browser leg carries every track the page names, both kinds and both directions (issue 13), on real aiortc
peers: an aiortc "page" offers like reactor_web/ui/components.jsx does, with a second model video, the model's
audio, a camera and a microphone."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np
import pytest
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from media_helpers import SineTrack, collect, pitch_hz, sine_frame
from test_relay_peer import PeerEvents, SolidTrack, next_frame_where, solid_frame

from reactor_web._media import DECODED, FrameHub, MediaHub
from reactor_web.relay.peer import MAX_RELAY_TRACKS, BrowserPeer, OfferError, RelayOffer, RelayTrack

#: These pages never beat: the relay must not release them while a test runs.
QUIET_PAGE_S = 120.0
#: What the page offers: (name, kind, direction as the capabilities say it).
TRACKS = [
    ("main_video", "video", "recvonly"),
    ("edges_video", "video", "recvonly"),
    ("main_audio", "audio", "recvonly"),
    ("webcam", "video", "sendonly"),
    ("microphone", "audio", "sendonly"),
]


class MultiPage:
    """A page with one transceiver per entry of ``tracks``; its sendonly ones send ``inputs[name]``."""

    def __init__(self, tracks: list[tuple[str, str, str]], inputs: dict[str, MediaStreamTrack]) -> None:
        # Bundled like a browser (aiortc's default policy loses a second audio transceiver: see _aiortc.py), so
        # the data channel comes after the transceivers.
        self.pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.tracks = tracks
        self.transceivers = {name: self.pc.addTransceiver(kind, direction=d) for name, kind, d in tracks}
        self.channel = self.pc.createDataChannel("relay")
        for name, track in inputs.items():
            self.transceivers[name].sender.replaceTrack(track)
        self.received: dict[str, asyncio.Future[MediaStreamTrack]] = {
            name: asyncio.get_running_loop().create_future() for name, _, d in tracks if d == "recvonly"
        }

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            for name, transceiver in self.transceivers.items():
                future = self.received.get(name)
                if transceiver.receiver.track is track and future is not None and not future.done():
                    future.set_result(track)

    async def offer(self) -> RelayOffer:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        listed = tuple(
            RelayTrack(name, kind, direction, str(self.transceivers[name].mid))  # type: ignore[arg-type]
            for name, kind, direction in self.tracks
        )
        return RelayOffer(self.pc.localDescription.sdp, listed)

    async def answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))


async def feed_video(hub: FrameHub, rgb: tuple[int, int, int]) -> None:
    for i in range(100_000):
        hub.push(solid_frame(rgb, i * 3000))
        await asyncio.sleep(1 / 30)


async def feed_audio(hub: FrameHub, hz: float) -> None:
    source = SineTrack(hz)
    while True:
        hub.push(await source.recv())


async def test_every_named_track_is_relayed_in_its_direction() -> None:
    offered: list[set[str]] = []
    peer = BrowserPeer(heartbeat_timeout_s=QUIET_PAGE_S, listener=PeerEvents(inputs=lambda i: offered.append(set(i))))
    gpu = {name: MediaHub(kind, DECODED, name=name) for name, kind, d in TRACKS if d == "recvonly"}
    for name, hub in gpu.items():
        peer.set_source(name, hub.kind, hub.subscribe(), None)  # type: ignore[arg-type]
    page = MultiPage(TRACKS, {"webcam": SolidTrack((30, 30, 220)), "microphone": SineTrack(1000)})
    camera = peer.input("webcam", "video").frames.subscribe()
    mic = peer.input("microphone", "audio").frames.subscribe()
    feeders = [
        asyncio.create_task(feed_video(gpu["main_video"], (210, 30, 30))),
        asyncio.create_task(feed_video(gpu["edges_video"], (30, 210, 30))),
        asyncio.create_task(feed_audio(gpu["main_audio"], 440)),
    ]
    try:
        await page.answer(await peer.accept_offer(await page.offer()))
        assert offered == [{"webcam", "microphone"}]
        # Each of the model's outputs arrives on the m-section the page named for it.
        main = await asyncio.wait_for(page.received["main_video"], 10)
        edges = await asyncio.wait_for(page.received["edges_video"], 10)
        assert (await next_frame_where(main, lambda im: im[..., 0].mean() > 150))[..., 1].mean() < 80
        assert (await next_frame_where(edges, lambda im: im[..., 1].mean() > 150))[..., 0].mean() < 80
        sound = await asyncio.wait_for(page.received["main_audio"], 10)
        assert sound.kind == "audio"
        heard = await collect(sound, 1.0)
        assert abs(pitch_hz(heard[-24_000:]) - 440) < 15
        # The page's camera and microphone reach their input hubs.
        assert (await next_frame_where(camera, lambda im: im[..., 2].mean() > 150))[..., 0].mean() < 80
        spoken = await collect(mic, 1.0)
        assert abs(pitch_hz(spoken[-24_000:]) - 1000) < 15
        assert peer.relay_modes == {"main_video": "transcode", "edges_video": "transcode"}
        assert peer.relay_mode == "transcode"
    finally:
        for feeder in feeders:
            feeder.cancel()
        await page.pc.close()
        await peer.close()


async def test_a_re_offer_with_another_track_set_is_answered_and_the_hubs_carry_on() -> None:
    """A page that starts with the main video only, then offers again with the model's audio (a component mounted,
    or a new session declared more): the new connection carries both, fed by the same hubs."""
    peer = BrowserPeer(heartbeat_timeout_s=QUIET_PAGE_S)
    video, audio = MediaHub("video", DECODED, name="v"), MediaHub("audio", DECODED, name="a")
    peer.set_source("main_video", "video", video.subscribe(), None)
    peer.set_source("main_audio", "audio", audio.subscribe(), None)
    feeders = [asyncio.create_task(feed_video(video, (210, 30, 30))), asyncio.create_task(feed_audio(audio, 660))]
    first = MultiPage(TRACKS[:1], {})
    second = MultiPage([TRACKS[0], TRACKS[2]], {})
    try:
        await first.answer(await peer.accept_offer(await first.offer()))
        main = await asyncio.wait_for(first.received["main_video"], 10)
        await next_frame_where(main, lambda im: im[..., 0].mean() > 150)
        await second.answer(await peer.accept_offer(await second.offer()))
        main = await asyncio.wait_for(second.received["main_video"], 10)
        await next_frame_where(main, lambda im: im[..., 0].mean() > 150)
        heard = await collect(await asyncio.wait_for(second.received["main_audio"], 10), 1.0)
        assert abs(pitch_hz(heard[-24_000:]) - 660) < 15
    finally:
        for feeder in feeders:
            feeder.cancel()
        await first.pc.close()
        await second.pc.close()
        await peer.close()


def offer_with(tracks: Any) -> str:
    return json.dumps({"sdp": "v=0\r\n", "tracks": tracks})


def entry(name: str = "main_video", kind: str = "video", direction: str = "recvonly", mid: str = "0") -> dict[str, str]:
    return {"name": name, "kind": kind, "direction": direction, "mid": mid}


@pytest.mark.parametrize(
    ("tracks", "says"),
    [
        ([entry(mid=str(i), name=f"t{i}") for i in range(MAX_RELAY_TRACKS + 1)], "at most 16"),
        ([entry(), entry(mid="1")], "a track is named twice"),
        ([entry(), entry(name="other")], "a mid is named twice"),
        ([entry(kind="data")], "not 'video' or 'audio'"),
        ([entry(direction="sendrecv")], "direction"),
        ([entry(name="")], "track name"),
        ([entry(name="x" * 65)], "track name"),
        ([entry(name="a b")], "track name"),
        ([entry(mid="")], "mid"),
        (["main_video"], "must be an object"),
        ("main_video", "must be a list"),
    ],
)
def test_offers_naming_tracks_wrongly_are_refused_with_the_reason(tracks: Any, says: str) -> None:
    with pytest.raises(OfferError, match=says):
        RelayOffer.parse(offer_with(tracks))


async def test_a_track_naming_no_m_section_of_its_kind_is_refused_and_the_peer_stays_usable() -> None:
    peer = BrowserPeer(heartbeat_timeout_s=QUIET_PAGE_S)
    page = MultiPage(TRACKS[:1], {})
    try:
        await page.pc.setLocalDescription(await page.pc.createOffer())
        sdp, mid = page.pc.localDescription.sdp, str(page.transceivers["main_video"].mid)
        for wrong in [
            RelayTrack("main_video", "audio", "recvonly", mid),
            RelayTrack("main_video", "video", "recvonly", "9"),
        ]:
            with pytest.raises(OfferError, match="m-section"):
                await peer.accept_offer(RelayOffer(sdp, (wrong,)))
        answer = await peer.accept_offer(RelayOffer(sdp, (RelayTrack("main_video", "video", "recvonly", mid),)))
        assert answer.startswith("v=0")
    finally:
        await page.pc.close()
        await peer.close()


def test_audio_pts_restamped_by_a_hub_stay_contiguous() -> None:
    """The first holder of received audio stamps contiguous sample times, whatever the source's own pts say."""

    async def run() -> list[int]:
        hub = MediaHub("audio", DECODED, name="mic", restamp=True)
        view = hub.subscribe()
        for start in [5_000_000, 0, 123]:  # a source whose own timestamps jump about (a new peer connection)
            hub.push(sine_frame(440, start))
        return [(await view.recv()).pts for _ in range(3)]

    first, second, third = asyncio.run(run())
    assert (second - first, third - second) == (960, 960)


def test_an_audio_view_never_holds_more_than_its_bound() -> None:
    """A consumer that stops reading falls at most AUDIO_MAX_FRAMES (200 ms) behind: the oldest frames go."""
    from reactor_web._media import AUDIO_MAX_FRAMES

    async def run() -> tuple[int, int, int]:
        hub = MediaHub("audio", DECODED, name="model audio")
        view = hub.subscribe()
        for i in range(100):
            hub.push(sine_frame(440, i * 960))
        oldest = (await view.recv()).pts
        return oldest, view.frames_dropped, AUDIO_MAX_FRAMES

    oldest, dropped, bound = asyncio.run(run())
    assert bound * 20 == 200  # ms of 20 ms frames: the bound the README states
    assert (oldest, dropped) == ((100 - bound) * 960, 100 - bound)
    assert np.isfinite(oldest)
