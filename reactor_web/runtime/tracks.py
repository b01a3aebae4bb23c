"""Media tracks of a runtime session: the model's outbound video and the inbound webcam consumer."""

from __future__ import annotations

import asyncio
import fractions
import logging
from collections.abc import Callable

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from reactor_web.runtime.model import DemoModel

log = logging.getLogger(__name__)

VIDEO_CLOCK_RATE = 90_000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK_RATE)


class ModelVideoTrack(MediaStreamTrack):
    """Paces the model at ``fps`` and hands each rendered frame to aiortc's encoder.

    While paused, ``recv`` blocks: nothing is rendered, encoded or sent (Part B: outbound tracks on the
    connections flow start paused until ``resume_track``). On resume the clock restarts from now, so
    there is no burst of catch-up frames; timestamps keep following wall time.
    """

    kind = "video"

    def __init__(self, model: DemoModel, fps: float, *, paused: bool = False) -> None:
        super().__init__()
        self._model = model
        self._period = 1.0 / fps
        self._running = asyncio.Event()
        if not paused:
            self._running.set()
        self._t0: float | None = None
        self._next = 0.0

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        super().stop()
        self._running.set()  # wake a recv blocked on pause so it sees the track has ended

    async def recv(self) -> av.VideoFrame:
        await self._running.wait()
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._t0 is None:
            self._t0 = self._next = now
        else:
            self._next += self._period
            if self._next < now - self._period:
                self._next = now  # fell behind, or just resumed: skip missed frames instead of bursting
            elif self._next > now:
                await asyncio.sleep(self._next - now)
        # Rendering is numpy/Pillow work; a worker thread keeps the event loop (and other sessions) responsive.
        image = await asyncio.to_thread(self._model.render)
        if self.readyState != "live":
            raise MediaStreamError
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = int((self._next - self._t0) * VIDEO_CLOCK_RATE)
        frame.time_base = VIDEO_TIME_BASE
        return frame


async def consume_latest(track: MediaStreamTrack, sink: Callable[[av.VideoFrame], None]) -> None:
    """Read ``track`` until it ends, passing each frame to ``sink`` as soon as it is decoded.

    Reading continuously keeps aiortc's receive queue empty; the sink keeps only the latest frame,
    so a slow model drops frames instead of falling behind.
    """
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            log.debug("inbound %s track ended", track.kind)
            return
        if isinstance(frame, av.VideoFrame):
            sink(frame)
