"""Latest-frame video tracks: the relay's only buffers.

A :class:`LatestFrameTrack` is fed by one source track (or by :meth:`push`) and read by one consumer
(an aiortc sender). It holds a single frame: when the consumer (an encoder, a slow browser) falls behind,
older frames are dropped rather than queued, so latency cannot creep up (field lesson 3).
"""

from __future__ import annotations

import asyncio
import logging
import time
from fractions import Fraction

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import VideoFrame

logger = logging.getLogger(__name__)

VIDEO_CLOCK_RATE = 90_000
_TIME_BASE = Fraction(1, VIDEO_CLOCK_RATE)


class LatestFrameTrack(MediaStreamTrack):
    """A video track that always delivers the newest frame of its current source."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._frame: VideoFrame | None = None
        self._fresh = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self._source: MediaStreamTrack | None = None
        self._started = time.monotonic()
        self.frames_in = 0
        self.frames_out = 0

    @property
    def source(self) -> MediaStreamTrack | None:
        return self._source

    @property
    def frames_dropped(self) -> int:
        """Frames replaced before the consumer read them."""
        return max(0, self.frames_in - self.frames_out - (1 if self._fresh.is_set() else 0))

    def set_source(self, track: MediaStreamTrack | None) -> None:
        """Read frames from ``track`` from now on (``None`` stops reading; the last frame stays)."""
        if track is self._source:
            return
        if self._pump is not None:
            self._pump.cancel()
            self._pump = None
        self._source = track
        if track is not None:
            self._pump = asyncio.get_running_loop().create_task(self._read(track), name="relay-frame-pump")

    def push(self, frame: VideoFrame) -> None:
        """Offer a frame; it replaces any frame the consumer has not taken yet."""
        self._frame = frame
        self.frames_in += 1
        self._fresh.set()

    async def _read(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                if isinstance(frame, VideoFrame):
                    self.push(frame)
        except MediaStreamError:
            logger.debug("relay source track ended")
        finally:
            if self._source is track:
                self._source = None
                self._pump = None

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        await self._fresh.wait()
        if self.readyState != "live" or self._frame is None:
            raise MediaStreamError
        self._fresh.clear()
        frame = self._frame
        # Restamp on the relay's own clock: the source's timestamps restart whenever the GPU session
        # (or the camera) changes, and the encoder needs a monotonic clock. Only the timing changes;
        # the pixels, shared with other views of a received track, are never touched.
        frame.pts = int((time.monotonic() - self._started) * VIDEO_CLOCK_RATE)
        frame.time_base = _TIME_BASE
        self.frames_out += 1
        return frame

    def stop(self) -> None:
        self.set_source(None)
        super().stop()
        self._fresh.set()  # wake a pending recv() so its sender stops
