"""The latest-frame hubs and their views (reactor_web/_media.py), without a peer connection."""

from __future__ import annotations

import asyncio
from fractions import Fraction

import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame

from reactor_web._media import AUDIO_MAX_FRAMES, DECODED, MediaHub
from reactor_web.client.tracks import TrackFeed
from reactor_web.relay.peer import BrowserPeer

WAIT_S = 5.0


def video_frame(value: int, pts: int) -> VideoFrame:
    frame = VideoFrame.from_ndarray(np.full((16, 16, 3), value, np.uint8), format="rgb24")
    frame.pts, frame.time_base = pts, Fraction(1, 90_000)
    return frame


class ScriptedTrack(MediaStreamTrack):
    """A source that delivers the frames a test hands it, one at a time, then ends when told."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.queue: asyncio.Queue[VideoFrame | None] = asyncio.Queue()

    async def recv(self) -> VideoFrame:
        frame = await self.queue.get()
        if frame is None:
            raise MediaStreamError
        return frame


async def recv(track: MediaStreamTrack) -> VideoFrame:
    return await asyncio.wait_for(track.recv(), WAIT_S)


async def test_stopping_a_view_ends_only_that_view() -> None:
    source = ScriptedTrack()
    hub = MediaHub("video", DECODED)
    a, b = hub.subscribe(), hub.subscribe()
    hub.set_source(source)
    a.stop()  # what aiortc does to a sender's track when its peer connection closes
    source.queue.put_nowait(video_frame(7, 0))
    assert (await recv(b)).to_ndarray(format="rgb24")[0, 0, 0] == 7
    assert a.readyState == "ended" and b.readyState == "live" and source.readyState == "live"
    with pytest.raises(MediaStreamError):
        await recv(a)
    c = hub.subscribe()  # the next peer connection's view
    source.queue.put_nowait(video_frame(9, 1))
    assert (await recv(c)).to_ndarray(format="rgb24")[0, 0, 0] == 9
    await hub.close()
    assert source.readyState == "live"  # the hub never stops its source: its creator owns it
    with pytest.raises(MediaStreamError):
        await recv(b)


async def test_a_long_lived_hub_outlives_its_source_and_takes_the_next() -> None:
    first, second = ScriptedTrack(), ScriptedTrack()
    hub = MediaHub("video", DECODED)
    view = hub.subscribe()
    hub.set_source(first)
    first.queue.put_nowait(video_frame(1, 0))
    await recv(view)
    first.queue.put_nowait(None)  # the source ends (its peer connection closed)
    hub.set_source(second)
    second.queue.put_nowait(video_frame(2, 0))
    assert (await recv(view)).to_ndarray(format="rgb24")[0, 0, 0] == 2
    assert view.readyState == "live"
    await hub.close()


async def test_a_received_track_ends_its_views_when_it_ends() -> None:
    source = ScriptedTrack()
    feed = TrackFeed("main_video", source)
    other = feed.track.subscribe()
    source.queue.put_nowait(None)
    for view in (feed.track, other):
        with pytest.raises(MediaStreamError):
            await recv(view)
    assert feed.subscribe().readyState == "ended"


async def test_the_relay_never_restamps_frames_it_shares_and_its_clock_stays_monotonic() -> None:
    """GPU video → client feed (primary view = Reactor.tracks) → the relay's hub → a browser sender's view.

    The client's feed reads the remote track itself and stamps each frame once, on arrival; the relay's
    view hands the sender the very frame the client's view holds, with the same timestamp."""
    peer = BrowserPeer()
    feeds = []
    sender_view = peer.output("main_video", "video").frames.subscribe()
    stamps = []
    # Two GPU connections in a row (a reconnect): the second source's own timestamps go backwards.
    for source_pts in ([900_000, 903_000], [3_000, 6_000]):
        source = ScriptedTrack()
        feed = TrackFeed("main_video", source)
        feeds.append(feed)
        peer.output("main_video", "video").frames.set_source(feed.track.subscribe())
        for pts in source_pts:
            source.queue.put_nowait(video_frame(100, pts))
            sent = await recv(sender_view)
            seen = await recv(feed.track)
            assert sent is seen
            stamps.append(sent.pts)
            assert seen.pts == stamps[-1] and sent.time_base == Fraction(1, 90_000)
        source.queue.put_nowait(None)
    assert stamps == sorted(stamps)  # monotonic across the reconnect
    await peer.close()
    for feed in feeds:
        await feed.close()


async def test_views_keep_the_newest_video_frame_and_a_window_of_audio() -> None:
    video = MediaHub("video", DECODED)
    view = video.subscribe()
    for i in range(10):
        video.push(video_frame(i, i))
    assert (await recv(view)).pts == 9 and view.frames_dropped == 9

    audio = MediaHub("audio", DECODED)
    listener = audio.subscribe()
    for i in range(AUDIO_MAX_FRAMES + 5):
        frame = AudioFrame(format="s16", layout="mono", samples=960)
        frame.pts = i
        audio.push(frame)
    assert (await recv(listener)).pts == 5 and listener.frames_dropped == 5
    await video.close()
    await audio.close()


class FailingTrack(MediaStreamTrack):
    kind = "video"

    async def recv(self) -> VideoFrame:
        raise RuntimeError("camera unplugged")


async def test_a_failing_source_ends_like_an_ended_one() -> None:
    feed = TrackFeed("webcam", FailingTrack())
    with pytest.raises(MediaStreamError):
        await recv(feed.track)


async def test_a_chained_hub_gets_each_frame_at_once_and_outlives_its_source_hub() -> None:
    """GPU feed → the relay's hub: the relay's view holds the very frame; the feed's end leaves the relay waiting."""
    relay = MediaHub("video", DECODED)
    sender = relay.subscribe()
    for value in (1, 2):  # two GPU connections in a row
        gpu = MediaHub("video", DECODED)
        relay.set_source(gpu)
        frame = video_frame(value, value)
        gpu.push(frame)
        assert (await recv(sender)) is frame
        await gpu.close()
        assert relay.source is None and not relay.ended and sender.readyState == "live"
    ended_with_it = MediaHub("video", DECODED, ends_with_source=True)
    view = ended_with_it.subscribe()
    gpu = MediaHub("video", DECODED)
    ended_with_it.set_source(gpu)
    await gpu.close()
    with pytest.raises(MediaStreamError):
        await recv(view)
    await relay.close()


async def test_a_view_given_as_a_source_carries_what_it_held_and_its_stop_ends_the_source() -> None:
    camera = MediaHub("video", DECODED)
    handed = camera.subscribe()
    camera.push(video_frame(5, 5))  # held before it is handed over: not lost
    publication = MediaHub("video", DECODED)
    sent = publication.subscribe()
    publication.set_source(handed)
    assert (await recv(sent)).pts == 5
    camera.push(video_frame(6, 6))
    assert (await recv(sent)).pts == 6
    handed.stop()  # its holder lets go of it: the publication has no source
    assert publication.source is None
    camera.push(video_frame(7, 7))
    assert publication.frames_received == 2
    await camera.close()
    await publication.close()


async def test_demand_travels_up_a_chain_to_its_head() -> None:
    """The head (a received track's feed) decodes only while someone at the end of the chain reads."""
    head = MediaHub("video", DECODED)
    relay = MediaHub("video", DECODED)
    relay.set_source(head.subscribe())
    idle = relay.subscribe()  # exists, is not read
    assert not head.demanded()
    reading = asyncio.ensure_future(idle.recv())
    await asyncio.sleep(0)  # let the read start waiting
    assert relay.demanded() and head.demanded()
    head.push(video_frame(3, 3))
    assert (await asyncio.wait_for(reading, WAIT_S)).pts == 3
    await head.close()
    await relay.close()
