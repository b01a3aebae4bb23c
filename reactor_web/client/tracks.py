"""Received tracks that can never pile up frames.

aiortc's ``RemoteStreamTrack`` queues every decoded frame in an unbounded ``asyncio.Queue``: a track
nobody reads grows memory without limit, and a slow reader falls ever further behind. So the client
reads every remote track itself (:class:`TrackFeed`, one task per track, started on ``track`` and
cancelled on disconnect) and hands frames to :class:`ReceivedTrack` views that hold only the newest
ones: one frame for video (latest-frame-only), a short window for audio so speech is not chopped.
With no consumer, frames are dropped as they arrive.

``Reactor.tracks[name]`` is the feed's primary view. A second consumer calls ``subscribe()`` to get its
own view; views share frame objects, so consumers must not modify them in place.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.frame import Frame

logger = logging.getLogger(__name__)

#: Frames a view keeps: video keeps the newest only; audio ~1 s of 20 ms frames.
VIDEO_MAX_FRAMES = 1
AUDIO_MAX_FRAMES = 50


class ReceivedTrack(MediaStreamTrack):
    """A view of a received track: ``recv()`` returns the oldest frame it still holds, or waits."""

    def __init__(self, feed: TrackFeed) -> None:
        super().__init__()
        self.kind = feed.kind
        self.name = feed.name
        self._feed = feed
        self._frames: deque[Frame] = deque(maxlen=feed.max_frames)
        self._arrived = asyncio.Event()

    async def recv(self) -> Frame:
        while not self._frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._arrived.clear()
            await self._arrived.wait()
        return self._frames.popleft()

    def subscribe(self) -> ReceivedTrack:
        """Another independent view of the same received track."""
        return self._feed.subscribe()

    def stop(self) -> None:
        self._feed.unsubscribe(self)
        self._close()

    def _push(self, frame: Frame) -> None:
        self._frames.append(frame)
        self._arrived.set()

    def _close(self) -> None:
        super().stop()
        self._frames.clear()
        self._arrived.set()  # wake a waiting recv() so it raises MediaStreamError


class TrackFeed:
    """Drains one remote track into its views; counts frames for the stats' frames_per_second."""

    def __init__(self, name: str, source: MediaStreamTrack) -> None:
        self.name = name
        self.kind = source.kind
        self.max_frames = VIDEO_MAX_FRAMES if source.kind == "video" else AUDIO_MAX_FRAMES
        self.frames_received = 0
        self.started_at = time.monotonic()
        #: When the first frame was decoded (monotonic), for the connection timings.
        self.first_frame_at: float | None = None
        self._source = source
        self._views: list[ReceivedTrack] = []
        self._ended = False
        self.track = self.subscribe()
        self._task = asyncio.ensure_future(self._pump())

    def subscribe(self) -> ReceivedTrack:
        view = ReceivedTrack(self)
        if self._ended:
            view._close()
        else:
            self._views.append(view)
        return view

    def unsubscribe(self, view: ReceivedTrack) -> None:
        if view in self._views:
            self._views.remove(view)

    async def _pump(self) -> None:
        try:
            while True:
                frame = await self._source.recv()
                assert isinstance(frame, Frame)  # a received track yields decoded frames (packets are sent only)
                if self.first_frame_at is None:
                    self.first_frame_at = time.monotonic()
                self.frames_received += 1
                for view in self._views:
                    view._push(frame)
        except MediaStreamError:
            logger.debug("received track %s ended", self.name)
        finally:
            self._ended = True
            for view in self._views:
                view._close()
            self._views.clear()

    async def close(self) -> None:
        """Stop reading (the source ends with the peer connection) and end every view."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
