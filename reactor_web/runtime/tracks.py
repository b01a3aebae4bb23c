"""The model's outbound video track. Each peer connection gets its own (owned by its connection), so a
sender stopping it at the connection's end stops nothing shared; inbound media is read with
``reactor_web._media.drain``."""

from __future__ import annotations

import asyncio

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from reactor_web._media import VIDEO_CLOCK_RATE, VIDEO_TIME_BASE
from reactor_web.runtime.model import DemoModel


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
