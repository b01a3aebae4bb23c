"""Latest-frame media: the one buffer every layer uses between a track and its consumers.

A :class:`FrameHub` reads one long-lived source (a received track, a caller's camera, the page's camera)
and holds only its newest frame (video) or a short window (audio, so speech is not chopped). Consumers
never read the source: each one takes its own :class:`FrameView` (``subscribe()``), a track an aiortc
sender may own. aiortc stops the track attached to a sender when the sender's loop ends (its peer
connection closed or failed); stopping a view ends that view only, never the hub or its source, so a
source outlives every peer connection it is sent on.

A hub whose source is itself a view (of another hub) reads it only while one of its own views is read
(:meth:`FrameHub.demanded`): a view holds the latest frame only, so nothing piles up meanwhile, and the
demand reaches the hub at the head of the chain, whose received track is decoded only while it is demanded
(``client/tracks.py``). Any other source (a received track, a caller's camera) is read all the time:
aiortc's and most tracks' own queues are unbounded.

Frames are shared by every view of a hub, so nobody may modify them. The one exception is made where a
frame is still exclusively owned: a hub created with ``restamp=True`` reads a remote track directly (it
is the frame's first holder) and stamps each video frame with its arrival time on the process-wide media
clock (:data:`VIDEO_CLOCK_RATE` ticks of ``time.monotonic()``) before any view sees it; audio frames get
contiguous sample timestamps (``time_base`` 1/sample rate) that move on to the same clock after a gap of
more than :data:`AUDIO_GAP_S` (a reconnect). So an encoder fed by a view gets monotonic timestamps even
when the hub's source changes (a reconnect, a page reload), without any consumer rewriting a shared frame.

**Audio delay bound.** A view holds at most :data:`AUDIO_MAX_FRAMES` audio frames: a consumer that falls
behind loses the oldest, so audio through a view is never more than that much (200 ms of 20 ms frames)
behind its source.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from fractions import Fraction

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame
from av.frame import Frame

logger = logging.getLogger(__name__)

#: RTP clock rate of every video codec aiortc speaks (RFC 3551); aiortc's video timestamps and jitter use it.
VIDEO_CLOCK_RATE = 90_000
VIDEO_TIME_BASE = Fraction(1, VIDEO_CLOCK_RATE)
#: Frames a view keeps: video the newest only; audio 200 ms of 20 ms frames (the most it can fall behind).
VIDEO_MAX_FRAMES = 1
AUDIO_MAX_FRAMES = 10
#: A pause in a restamped audio source longer than this (seconds) moves its timestamps on to the media clock.
AUDIO_GAP_S = 0.1

#: A hub counts as read (:meth:`FrameHub.demanded`) while a view waits in ``recv()``, and this long (seconds)
#: after a view last read: what a decoder that runs only for readers needs to know.
DEMAND_WINDOW_S = 1.0

_CLOCK_ORIGIN = time.monotonic()


def media_clock() -> int:
    """Now on the process-wide media clock, in :data:`VIDEO_CLOCK_RATE` ticks (monotonic)."""
    return int((time.monotonic() - _CLOCK_ORIGIN) * VIDEO_CLOCK_RATE)


def audio_pts(rate: int, contiguous: int | None) -> int:
    """The pts of an audio frame at ``rate`` samples/s: ``contiguous`` (the one that continues its stream, None
    for none) while the stream keeps up (arrival jitter is not a gap), else now on the media clock at that rate
    (after a pause longer than :data:`AUDIO_GAP_S`, a reconnect)."""
    now = round((time.monotonic() - _CLOCK_ORIGIN) * rate)
    return contiguous if contiguous is not None and now - contiguous < AUDIO_GAP_S * rate else now


async def drain(track: MediaStreamTrack, sink: Callable[[Frame], None]) -> None:
    """Read ``track`` until it ends, handing each frame to ``sink`` as soon as it is decoded.

    Reading continuously keeps aiortc's unbounded receive queue empty; the sink keeps what it needs.
    """
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            logger.debug("%s track %s ended", track.kind, track.id)
            return
        assert isinstance(frame, Frame)  # a received or captured track yields decoded frames, never packets
        sink(frame)


class FrameHub:
    """Holds the newest frame(s) of one source and hands out independent views.

    ``kind``: ``"video"`` or ``"audio"``. ``restamp``: stamp video frames on arrival (only for a hub that
    reads a remote track itself; see the module docstring). ``ends_with_source``: when the source ends,
    end every view (a received track); otherwise the views stay live, keep waiting, and a later
    :meth:`set_source` feeds them again (the relay's tracks outlive the peers that feed them).
    The hub never stops its source: whoever created the source owns it.
    """

    def __init__(
        self,
        kind: str,
        *,
        name: str = "",
        restamp: bool = False,
        ends_with_source: bool = False,
    ) -> None:
        self.kind = kind
        self.name = name
        self.max_frames = VIDEO_MAX_FRAMES if kind == "video" else AUDIO_MAX_FRAMES
        #: Frames that reached the hub, and when (monotonic) it was created and got its first frame.
        self.frames_received = 0
        self.started_at = time.monotonic()
        self.first_frame_at: float | None = None
        self._restamp = restamp
        self._next_audio_pts: tuple[int, int] | None = None  # (sample rate, pts of the next audio frame)
        self._ends_with_source = ends_with_source
        self._views: list[FrameView] = []
        self._source: MediaStreamTrack | None = None
        self._pump: asyncio.Task[None] | None = None
        self._ended = False
        self._waiting_reads = 0
        self._last_read = -DEMAND_WINDOW_S
        self._read_started = asyncio.Event()  # a view began waiting: an on-demand pump reads again

    @property
    def source(self) -> MediaStreamTrack | None:
        """The track the hub reads now (None before the first, after it ended, or after close)."""
        return self._source

    @property
    def ended(self) -> bool:
        """True once closed (or, with ``ends_with_source``, once the source ended): views end at once."""
        return self._ended

    def demanded(self) -> bool:
        """Whether a consumer reads this hub's frames now: a view waits in ``recv()`` or read within
        :data:`DEMAND_WINDOW_S`. A view that exists but is not read does not count."""
        return self._waiting_reads > 0 or time.monotonic() - self._last_read < DEMAND_WINDOW_S

    def subscribe(self) -> FrameView:
        """A new view that receives every frame pushed from now on (an ended one if the hub has ended)."""
        view = FrameView(self)
        if self._ended:
            view._end()
        else:
            self._views.append(view)
        return view

    def set_source(self, track: MediaStreamTrack | None) -> None:
        """Read frames from ``track`` from now on (None: stop reading; the views keep what they hold)."""
        if track is self._source or self._ended:
            return
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
        self._source = track
        if track is not None:
            self._pump = asyncio.get_running_loop().create_task(self._read(track), name=f"frame-hub-{self.name}")

    def push(self, frame: Frame) -> None:
        """Offer a frame to every view; in each it replaces a video frame not read yet."""
        if self._ended:
            return
        if self.first_frame_at is None:
            self.first_frame_at = time.monotonic()
        self.frames_received += 1
        if self._restamp and isinstance(frame, VideoFrame):
            frame.pts = media_clock()
            frame.time_base = VIDEO_TIME_BASE
        elif self._restamp and isinstance(frame, AudioFrame) and frame.sample_rate > 0:
            self._restamp_audio(frame)
        for view in self._views:
            view._push(frame)

    def _restamp_audio(self, frame: AudioFrame) -> None:
        rate = frame.sample_rate
        last = self._next_audio_pts
        pts = audio_pts(rate, last[1] if last is not None and last[0] == rate else None)
        frame.pts = pts
        frame.time_base = Fraction(1, rate)
        self._next_audio_pts = (rate, pts + frame.samples)

    async def close(self) -> None:
        """Stop reading (the source itself is not stopped) and end every view; idempotent."""
        pump, self._pump = self._pump, None
        self._source = None
        self._end()
        if pump is not None and pump is not asyncio.current_task():
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)

    def _unsubscribe(self, view: FrameView) -> None:
        if view in self._views:
            self._views.remove(view)

    def _end(self) -> None:
        self._ended = True
        views, self._views = self._views, []
        for view in views:
            view._end()

    async def _read(self, track: MediaStreamTrack) -> None:
        try:
            if isinstance(track, FrameView):
                await self._read_on_demand(track)
            else:
                await drain(track, self.push)
        except Exception:  # a caller's track failing is its end, not a crash of whoever reads the hub
            logger.warning("%s track %r failed; treating it as ended", self.kind, self.name, exc_info=True)
        # The source ended by itself (not replaced, not closed).
        if self._source is track:
            self._source = None
            self._pump = None
            if self._ends_with_source:
                self._end()

    async def _read_on_demand(self, view: FrameView) -> None:
        """Read another hub's view only while this hub is demanded (see the module docstring)."""
        while True:
            if not self.demanded():
                self._read_started.clear()
                await self._read_started.wait()
                continue
            try:
                frame = await view.recv()
            except MediaStreamError:
                return
            self.push(frame)


class FrameView(MediaStreamTrack):
    """One consumer's view of a :class:`FrameHub`: ``recv()`` returns the oldest frame it still holds, or
    waits for the next. ``stop()`` (called by aiortc when a sender that owns the view goes away) ends this
    view only. Raises ``MediaStreamError`` from ``recv()`` once the view or its hub has ended."""

    def __init__(self, hub: FrameHub) -> None:
        super().__init__()
        self.kind = hub.kind
        self.name = hub.name
        self._hub = hub
        self._frames: deque[Frame] = deque(maxlen=hub.max_frames)
        self._arrived = asyncio.Event()
        #: Frames replaced (video) or pushed out of the window (audio) before this view's consumer read them.
        self.frames_dropped = 0

    @property
    def hub(self) -> FrameHub:
        """The hub this view reads."""
        return self._hub

    async def recv(self) -> Frame:
        """The oldest frame this view holds (video: the newest frame), waiting for one if none; raises
        ``MediaStreamError`` once the view or its hub has ended."""
        hub = self._hub
        hub._waiting_reads += 1
        hub._read_started.set()
        try:
            while not self._frames:
                if self.readyState != "live":
                    raise MediaStreamError
                self._arrived.clear()
                await self._arrived.wait()
            return self._frames.popleft()
        finally:
            hub._waiting_reads -= 1
            hub._last_read = time.monotonic()

    def subscribe(self) -> FrameView:
        """Another independent view of the same hub."""
        return self._hub.subscribe()

    def stop(self) -> None:
        """End this view only (aiortc calls it when a sender that owns the view goes away)."""
        self._hub._unsubscribe(self)
        self._end()

    def _push(self, frame: Frame) -> None:
        if len(self._frames) == self._frames.maxlen:
            self.frames_dropped += 1
        self._frames.append(frame)
        self._arrived.set()

    def _end(self) -> None:
        if self.readyState == "live":
            super().stop()
        self._frames.clear()
        self._arrived.set()  # wake a waiting recv() so it raises MediaStreamError
