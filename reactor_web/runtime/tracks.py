"""The model's outbound tracks. Each peer connection gets its own (owned by its connection), so a sender
stopping one at the connection's end stops nothing shared; inbound media is read with
``reactor_web._media.drain``.

Every video output of a session (``main_video``, ``edges_video``, on every connection) shows the frames
of one :class:`FrameClock`: the model renders once per frame period however many outputs are read, and
not at all while none is. Audio (``main_audio``) is made per track: a tone costs next to nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from reactor_web._media import VIDEO_CLOCK_RATE, VIDEO_TIME_BASE
from reactor_web.runtime.audio import AUDIO_TIME_BASE, FRAME_S, FRAME_SAMPLES, SAMPLE_RATE, ToneSynth, tone_hz
from reactor_web.runtime.model import DemoModel, edges_view


class RenderedFrame:
    """One frame of a :class:`FrameClock`: ``index`` (0, 1, ... per clock), ``due`` (event-loop time, seconds,
    it was paced for), ``pts`` (90 kHz ticks since the clock's first frame: every output of the session is
    on one timeline) and ``image`` (``(height, width, 3)`` uint8 RGB, shared: never modified)."""

    __slots__ = ("_edges", "due", "image", "index", "pts")

    def __init__(self, index: int, due: float, pts: int, image: np.ndarray) -> None:
        self.index = index
        self.due = due
        self.pts = pts
        self.image = image
        self._edges: np.ndarray | None = None

    def edges(self) -> np.ndarray:
        """:func:`~reactor_web.runtime.model.edges_view` of the image, computed once for all its readers."""
        if self._edges is None:
            self._edges = edges_view(self.image)
        return self._edges


class FrameClock:
    """Paces a session's model at ``fps`` and shares each rendered frame with every video output.

    Renders happen on demand: a reader asking for a frame newer than its last one gets the current one if
    it is still fresh (rendered for this frame period), else joins (or starts) the render of the next one.
    The next frame is due one period after the last; when that has long passed (no reader for a while, or
    rendering fell behind) it is due now, so there is never a burst of catch-up frames.
    """

    def __init__(self, model: DemoModel, fps: float) -> None:
        self._model = model
        self._period = 1.0 / fps
        self._latest: RenderedFrame | None = None
        self._rendering: asyncio.Task[RenderedFrame] | None = None
        self._origin = 0.0  # event-loop time of the first frame

    async def next_frame(self, after: int) -> RenderedFrame:
        """The session's newest frame with an ``index`` above ``after`` (-1: any), waiting for it if need be."""
        loop = asyncio.get_running_loop()
        latest = self._latest
        if latest is not None and latest.index > after and loop.time() - latest.due < self._period:
            return latest
        if self._rendering is None:
            self._rendering = loop.create_task(self._render())
        # Shielded: one reader going away (its track stopped) must not cancel the render the others wait for.
        return await asyncio.shield(self._rendering)

    async def _render(self) -> RenderedFrame:
        try:
            loop = asyncio.get_running_loop()
            now = loop.time()
            latest = self._latest
            due = now if latest is None else latest.due + self._period
            if due < now - self._period:
                due = now  # nobody read for a while, or rendering fell behind: skip the missed frames
            elif due > now:
                await asyncio.sleep(due - now)
            # Rendering is numpy/Pillow work; a worker thread keeps the event loop (and other sessions) responsive.
            image = await asyncio.to_thread(self._model.render)
            if latest is None:
                self._origin = due
            index = 0 if latest is None else latest.index + 1
            frame = RenderedFrame(index, due, int((due - self._origin) * VIDEO_CLOCK_RATE), image)
            self._latest = frame
            return frame
        finally:
            self._rendering = None

    def close(self) -> None:
        """Cancel a render in progress (the session ended)."""
        if self._rendering is not None:
            self._rendering.cancel()


class OutboundTrack(MediaStreamTrack):
    """A model output the client can pause (Part B ``pause_track``/``resume_track``).

    While paused, ``recv`` blocks: nothing is made, encoded or sent (outbound tracks on the connections
    flow start paused until ``resume_track``). Subclasses pace from wall time and skip what they missed,
    so resuming makes no burst.
    """

    def __init__(self, *, paused: bool = False) -> None:
        super().__init__()
        self._running = asyncio.Event()
        if not paused:
            self._running.set()

    def pause(self) -> None:
        """``pause_track``: the next ``recv`` waits until :meth:`resume`."""
        self._running.clear()

    def resume(self) -> None:
        """``resume_track``: frames flow again, paced from now."""
        self._running.set()

    def stop(self) -> None:
        """End the track (its connection closed); a ``recv`` waiting on a pause raises at once."""
        super().stop()
        self._running.set()  # wake a recv blocked on pause so it sees the track has ended

    async def _wait_running(self) -> None:
        await self._running.wait()
        if self.readyState != "live":
            raise MediaStreamError


class ModelVideoTrack(OutboundTrack):
    """A video output: each frame of the session's :class:`FrameClock`, through ``view`` (None: the frame
    itself, ``main_video``; :meth:`RenderedFrame.edges`: ``edges_video``), as ``rgb24`` with the frame's
    ``pts`` (``time_base`` 1/90000)."""

    kind = "video"

    def __init__(
        self,
        clock: FrameClock,
        view: Callable[[RenderedFrame], np.ndarray] | None = None,
        *,
        paused: bool = False,
    ) -> None:
        super().__init__(paused=paused)
        self._clock = clock
        self._view = view
        self._last = -1

    async def recv(self) -> av.VideoFrame:
        await self._wait_running()
        rendered = await self._clock.next_frame(self._last)
        if self.readyState != "live":
            raise MediaStreamError
        self._last = rendered.index
        image = rendered.image if self._view is None else await asyncio.to_thread(self._view, rendered)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = rendered.pts
        frame.time_base = VIDEO_TIME_BASE
        return frame


class ModelAudioTrack(OutboundTrack):
    """``main_audio``: 20 ms frames (:data:`~reactor_web.runtime.audio.FRAME_SAMPLES` samples) of s16 stereo
    48 kHz (both channels alike: aiortc's encoder would turn mono into stereo 3 dB quieter), a tone at
    ``tone_hz(model.brightness)`` that clicks once per command applied. Paced by wall time: frame ``k`` is
    due ``k * 20 ms`` after the first and has ``pts = k * 960`` (``time_base`` 1/48000); after a pause or
    a stall the count skips ahead to now, so audio never lags or bursts."""

    kind = "audio"

    def __init__(self, model: DemoModel, *, paused: bool = False) -> None:
        super().__init__(paused=paused)
        self._model = model
        self._synth = ToneSynth()
        self._clicks = model.commands_applied
        self._t0: float | None = None
        self._count = 0

    async def recv(self) -> av.AudioFrame:
        await self._wait_running()
        now = asyncio.get_running_loop().time()
        if self._t0 is None:
            self._t0 = now
        else:
            self._count += 1
            due = self._t0 + self._count * FRAME_S
            if due < now - FRAME_S:
                self._count = int((now - self._t0) / FRAME_S)  # skip the frames missed, keep the grid
            elif due > now:
                await asyncio.sleep(due - now)
        if self.readyState != "live":
            raise MediaStreamError
        model = self._model
        if model.commands_applied != self._clicks:
            self._clicks = model.commands_applied
            self._synth.click()
        samples = self._synth.next_block(tone_hz(model.brightness))
        frame = av.AudioFrame.from_ndarray(np.repeat(samples, 2)[None, :], format="s16", layout="stereo")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._count * FRAME_SAMPLES
        frame.time_base = AUDIO_TIME_BASE
        return frame
