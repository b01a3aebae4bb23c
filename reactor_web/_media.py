"""The media hub: the one buffer every layer uses between a source and its consumers, decoded or encoded.

A :class:`MediaHub` takes the frames of one long-lived source (a received track, a caller's camera, the page's
camera, a receiver's encoded frames) and hands them to independent views (:meth:`MediaHub.subscribe`), each a
track an aiortc sender may own. aiortc stops the track attached to a sender when the sender's loop ends (its
peer connection closed or failed); stopping a view ends that view only, never the hub or its source, so a
source outlives every peer connection it is sent on. As with aiortc's ``MediaRelay.subscribe(track,
buffered=...)``, one class serves every kind of media, and a policy (:class:`Policy`) says what each view keeps
of what it has not handed over yet, its backlog:

* :data:`DECODED` (``av`` video and audio frames; :data:`FrameHub`): video the newest frame only; audio a window
  of :data:`AUDIO_MAX_FRAMES`, the oldest dropped, so speech is not chopped and a consumer that falls behind is
  never more than that (200 ms of 20 ms frames) behind its source.
* :data:`ENCODED` (``av.Packet``, which an aiortc sender packs without encoding; :data:`EncodedHub`): audio the
  same window (every Opus packet decodes alone). A video decoder cannot skip a frame the next one refers to, so
  latest-frame-only cannot hold literally there: a view keeps the frames since the last keyframe its consumer
  has not read yet, at most :data:`MAX_ENCODED_BACKLOG` (a keyframe replaces them all), and past that drops
  them and waits for the next keyframe, asking the far encoder for it (as it does when it starts, when its
  hub's source changes, and after loss upstream: :meth:`MediaHub.lost`). Dropping at the first frame not read
  in time instead made a busy backend's sender, late by a frame now and then, wait for keyframe after
  keyframe: under load whole tabs got no video at all (``bench/tabs.py``).

**Sources and chains.** A hub's source (:meth:`MediaHub.set_source`) is another hub, a view of one, any other
track, or nothing (whoever feeds the hub calls :meth:`MediaHub.push`: a receiver's tap of encoded frames).
Chained to a hub (or to a view of one, which it then takes over), a hub gets each frame pushed on through its
view of that hub at once, with no task and no queue in between; keyframe requests (:meth:`MediaHub.request_keyframe`)
and demand (:meth:`MediaHub.demanded`) travel back up the chain, to the :class:`KeyframeSource` (a receiver's
tap) and the decoder at its head. The source hub's end, or the end of the view given, is the end of the source.
Any other track is read by a task all the time: aiortc's and most tracks' own queues are unbounded.

**Demand.** A hub is read while a view waits in ``recv()``, or read within :data:`DEMAND_WINDOW_S`, or a hub
chained to it is read: the head of a chain decodes its received track only while it is demanded
(``client/tracks.py``), so pixels nobody reads are never decoded.

Frames are shared by every view of a hub, so nobody may modify them. The one exception is made where a
frame is still exclusively owned: a hub created with ``restamp=True`` reads a remote track directly (it
is the frame's first holder) and stamps each video frame with its arrival time on the process-wide media
clock (:data:`VIDEO_CLOCK_RATE` ticks of ``time.monotonic()``) before any view sees it; audio frames get
contiguous sample timestamps (``time_base`` 1/sample rate, :func:`audio_pts`) that move on to the same clock
after a gap of more than :data:`AUDIO_GAP_S` (a reconnect). So an encoder fed by a view gets monotonic
timestamps even when the hub's source changes (a reconnect, a page reload), without any consumer rewriting a
shared frame.

A hub is closed once, by its owner (:meth:`MediaHub.close`): its views end, hubs chained to it lose their source.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from fractions import Fraction
from typing import ClassVar, Generic, Protocol, TypeAlias, TypeVar, cast

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame
from av.frame import Frame

logger = logging.getLogger(__name__)

#: RTP clock rate of every video codec aiortc speaks (RFC 3551); aiortc's video timestamps and jitter use it.
VIDEO_CLOCK_RATE = 90_000
VIDEO_TIME_BASE = Fraction(1, VIDEO_CLOCK_RATE)
#: Frames a decoded view keeps: video the newest only; audio 200 ms of 20 ms frames (the most it can fall
#: behind; encoded audio keeps as many).
VIDEO_MAX_FRAMES = 1
AUDIO_MAX_FRAMES = 10
#: The most encoded video frames a view holds for its sender (100 ms at 30 fps): a sender late by up to this
#: much catches up without losing the picture; later, the view restarts at a keyframe.
MAX_ENCODED_BACKLOG = 3
#: A pause in a restamped audio source longer than this (seconds) moves its timestamps on to the media clock.
AUDIO_GAP_S = 0.1

#: A hub counts as read (:meth:`MediaHub.demanded`) while a view waits in ``recv()``, and this long (seconds)
#: after a view last read: what a decoder that runs only for readers needs to know.
DEMAND_WINDOW_S = 1.0

_CLOCK_ORIGIN = time.monotonic()

#: What a hub carries: decoded frames, or encoded ones as packets (what aiortc's tracks yield, either way).
T = TypeVar("T", bound=Frame | av.Packet)


def media_clock() -> int:
    """Now on the process-wide media clock, in :data:`VIDEO_CLOCK_RATE` ticks (monotonic)."""
    return int((time.monotonic() - _CLOCK_ORIGIN) * VIDEO_CLOCK_RATE)


def audio_pts(rate: int, contiguous: int | None) -> int:
    """The pts of an audio frame at ``rate`` samples/s: ``contiguous`` (the one that continues its stream, None
    for none) while the stream keeps up (arrival jitter is not a gap), else now on the media clock at that rate
    (after a pause longer than :data:`AUDIO_GAP_S`, a reconnect)."""
    now = round((time.monotonic() - _CLOCK_ORIGIN) * rate)
    return contiguous if contiguous is not None and now - contiguous < AUDIO_GAP_S * rate else now


async def drain(track: MediaStreamTrack, sink: Callable[[T], None]) -> None:
    """Read ``track`` until it ends, handing each frame (or packet) to ``sink`` as soon as it arrives.

    Reading continuously keeps aiortc's unbounded receive queue empty; the sink keeps what it needs.
    """
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            logger.debug("%s track %s ended", track.kind, track.id)
            return
        sink(cast(T, frame))  # a track yields what its reader takes: decoded frames, or packets


class KeyframeSource(Protocol):
    """Whoever can make the far encoder send a keyframe (a receiver's tap; a hub, through its source)."""

    def request_keyframe(self) -> None:
        """Ask for a keyframe (rate-limited by whoever sends the request)."""


class Backlog(Generic[T]):
    """What one view holds of the frames pushed to it, oldest first, until its consumer reads them: the view's
    share of its hub's :class:`Policy`."""

    #: Whether the frames must start at a keyframe (encoded video): such a view asks for one when it starts.
    keyframes: ClassVar[bool] = False

    def __init__(self) -> None:
        self.frames: deque[T] = deque()
        #: Frames dropped before the consumer read them: pushed out of the bound, or waiting for a keyframe.
        self.dropped = 0

    def put(self, frame: T) -> bool:
        """Keep ``frame`` as the policy says; True when it was refused for want of a keyframe (ask for one)."""
        raise NotImplementedError

    def lost(self) -> None:
        """Frames were lost upstream: those that refer to them cannot be decoded (nothing to do by default)."""


class Window(Backlog[T]):
    """The newest ``size`` frames: a consumer that falls behind loses the oldest (``size`` 1: latest frame only)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, frame: T) -> bool:
        if len(self.frames) >= self.size:
            self.frames.popleft()
            self.dropped += 1
        self.frames.append(frame)
        return False


class KeyframeChain(Backlog[av.Packet]):
    """Encoded video: every frame since the last keyframe not read yet, at most ``limit``; past that, or after
    loss upstream, none until the next keyframe (see the module docstring). It starts waiting for one."""

    keyframes = True

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.needs_keyframe = True

    def put(self, frame: av.Packet) -> bool:
        if frame.is_keyframe:  # it decodes alone: nothing before it is needed any more
            self.dropped += len(self.frames)
            self.frames.clear()
            self.needs_keyframe = False
        elif len(self.frames) >= self.limit:  # too far behind: the next delta refers to a frame dropped
            self.dropped += len(self.frames)
            self.frames.clear()
            self.needs_keyframe = True
        if self.needs_keyframe:
            self.dropped += 1
            return True
        self.frames.append(frame)
        return False

    def lost(self) -> None:
        self.needs_keyframe = True


class Policy(Generic[T]):
    """Which :class:`Backlog` each view of a hub gets, by the hub's kind (``"video"`` or ``"audio"``)."""

    def __init__(self, name: str, *, video: Callable[[], Backlog[T]], audio: Callable[[], Backlog[T]]) -> None:
        self.name = name
        self._video = video
        self._audio = audio

    def backlog(self, kind: str) -> Backlog[T]:
        """A new view's backlog for media of ``kind``."""
        return self._video() if kind == "video" else self._audio()

    def __repr__(self) -> str:
        return f"Policy({self.name!r})"


#: Decoded frames: the newest video frame; a window of audio.
DECODED: Policy[Frame] = Policy(
    "decoded", video=lambda: Window(VIDEO_MAX_FRAMES), audio=lambda: Window(AUDIO_MAX_FRAMES)
)
#: Encoded frames (``av.Packet``): video since the last keyframe, up to a bound; a window of audio.
ENCODED: Policy[av.Packet] = Policy(
    "encoded", video=lambda: KeyframeChain(MAX_ENCODED_BACKLOG), audio=lambda: Window(AUDIO_MAX_FRAMES)
)


class MediaHub(Generic[T]):
    """Takes the frames of one source and hands them to independent views, each keeping what ``policy`` says.

    ``kind``: ``"video"`` or ``"audio"`` (what its views are: aiortc's sender of a view takes the view's kind).
    ``codec``: for encoded media, the frames' MIME type until whoever pushes them says (a negotiated one).
    ``restamp``: stamp decoded frames on arrival (only for a hub that reads a remote track itself; see the module
    docstring). ``ends_with_source``: when the source ends, end every view (a received track); otherwise the
    views stay live, keep waiting, and a later :meth:`set_source` feeds them again (the relay's hubs outlive the
    peers that feed them). The hub never stops its source: whoever created the source owns it. Counts what
    arrived (``frames_received``; ``started_at`` and ``first_frame_at``, monotonic seconds) whether or not a view
    took it.
    """

    def __init__(
        self,
        kind: str,
        policy: Policy[T],
        *,
        name: str = "",
        codec: str | None = None,
        restamp: bool = False,
        ends_with_source: bool = False,
    ) -> None:
        self.kind = kind
        self.name = name
        self.policy = policy
        self.frames_received = 0
        self.started_at = time.monotonic()
        self.first_frame_at: float | None = None
        self._codec = codec
        self._restamp = restamp
        self._next_audio_pts: tuple[int, int] | None = None  # (sample rate, pts of the next audio frame)
        self._ends_with_source = ends_with_source
        self._views: list[MediaView[T]] = []
        self._source: MediaHub[T] | MediaStreamTrack | None = None
        self._link: MediaView[T] | None = None  # the view of the source's hub that pushes frames here
        self._owns_link = False  # the link is this hub's own view (a hub was given), not the caller's
        self._pump: asyncio.Task[None] | None = None  # reads any other source track
        self._keyframe_source: KeyframeSource | None = None
        self._ended = False
        self._waiting_reads = 0
        self._last_read = -DEMAND_WINDOW_S

    @property
    def source(self) -> MediaHub[T] | MediaStreamTrack | None:
        """What :meth:`set_source` was given last (None before, after it ended, or after close)."""
        return self._source

    @property
    def ended(self) -> bool:
        """True once closed (or, with ``ends_with_source``, once the source ended): views end at once."""
        return self._ended

    @property
    def codec(self) -> str | None:
        """The MIME type of the encoded frames: the source hub's while chained to one, else the last known (None
        for decoded media, or before anything said)."""
        link = self._link
        return link.hub.codec if link is not None else self._codec

    @codec.setter
    def codec(self, codec: str | None) -> None:
        self._codec = codec

    def demanded(self) -> bool:
        """Whether a consumer reads this hub's frames now: a view waits in ``recv()`` or read within
        :data:`DEMAND_WINDOW_S`, or a hub chained to it is demanded. A view that exists but is not read does not
        count."""
        if self._waiting_reads > 0 or time.monotonic() - self._last_read < DEMAND_WINDOW_S:
            return True
        return any(view._sink is not None and view._sink.demanded() for view in self._views)

    def subscribe(self) -> MediaView[T]:
        """A new view that receives every frame pushed from now on (an ended one if the hub has ended); one that
        must start at a keyframe asks for it at once."""
        view = MediaView(self)
        self._add(view)
        if view._backlog.keyframes and not self._ended:
            self.request_keyframe()
        return view

    def set_source(self, source: MediaHub[T] | MediaStreamTrack | None) -> None:
        """Take frames from ``source`` from now on (see the module docstring): a hub, or a view of one, is
        chained (a view given is this hub's to read from then on; its holder still owns it); any other track is
        read by a task; None: none (the views keep what they hold). Views whose frames start at keyframes
        restart at the new source's next one, asked for at once."""
        if source is self._source or self._ended:
            return
        self._detach()
        self._source = source
        if isinstance(source, MediaHub):
            link = MediaView(source)
            self._link, self._owns_link = link, True
            link._sink = self
            source._add(link)  # an ended source ends the link at once: this hub has no source then
        elif isinstance(source, MediaView):
            self._link, self._owns_link = source, False
            source._take_over(self)
        elif source is not None:
            self._pump = asyncio.get_running_loop().create_task(self._read(source), name=f"media-hub-{self.name}")
        if self._source is not None:
            self.lost()  # another encoder's stream: no view may continue across the change with a delta
            self.request_keyframe()

    def set_keyframe_source(self, source: KeyframeSource | None) -> None:
        """Who can make the far encoder send a keyframe (a receiver's tap); None: none now (the source hub asks
        its own)."""
        self._keyframe_source = source

    def request_keyframe(self) -> None:
        """Ask the far encoder for a keyframe: through the keyframe source, else the source hub (nothing when
        there is neither: decoded media, or no source now)."""
        if self._keyframe_source is not None:
            self._keyframe_source.request_keyframe()
        elif self._link is not None:
            self._link.hub.request_keyframe()

    def push(self, frame: T) -> None:
        """Offer a frame to every view (and every hub chained to this one): each keeps it as its backlog says."""
        if self._ended:
            return
        if self.first_frame_at is None:
            self.first_frame_at = time.monotonic()
        self.frames_received += 1
        if self._restamp:
            self._stamp(frame)
        for view in self._views:
            view._push(frame)

    def lost(self) -> None:
        """Frames were lost upstream: every view (here and in chained hubs) whose frames refer to earlier ones
        waits for the next keyframe."""
        for view in self._views:
            view._lost()

    async def close(self) -> None:
        """Stop taking frames (the source itself is not stopped), end every view and so the source of every hub
        chained to this one (they stay open); idempotent."""
        pump, self._pump = self._pump, None
        self._detach()
        self._keyframe_source = None
        self._end()
        if pump is not None and pump is not asyncio.current_task():
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)

    def _stamp(self, frame: T) -> None:
        if isinstance(frame, VideoFrame):
            frame.pts = media_clock()
            frame.time_base = VIDEO_TIME_BASE
        elif isinstance(frame, AudioFrame) and frame.sample_rate > 0:
            rate = frame.sample_rate
            last = self._next_audio_pts
            pts = audio_pts(rate, last[1] if last is not None and last[0] == rate else None)
            frame.pts = pts
            frame.time_base = Fraction(1, rate)
            self._next_audio_pts = (rate, pts + frame.samples)

    def _add(self, view: MediaView[T]) -> None:
        if self._ended:
            view._end()
        else:
            self._views.append(view)

    def _unsubscribe(self, view: MediaView[T]) -> None:
        if view in self._views:
            self._views.remove(view)

    def _detach(self) -> None:
        """Let go of the source: the link (stopped if it is this hub's own view) or the task reading it."""
        link, self._link = self._link, None
        if link is not None:
            self._codec = link.hub.codec
            link._sink = None
            if self._owns_link:
                link.stop()
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
        self._source = None

    def _source_ended(self) -> None:
        """The source ended by itself (not replaced, not closed)."""
        link, self._link = self._link, None
        if link is not None:
            self._codec = link.hub.codec
        self._source = None
        self._pump = None
        if self._ends_with_source:
            self._end()

    def _end(self) -> None:
        self._ended = True
        views, self._views = self._views, []
        for view in views:
            view._end()

    async def _read(self, track: MediaStreamTrack) -> None:
        try:
            await drain(track, self.push)
        except Exception:  # a caller's track failing is its end, not a crash of whoever reads the hub
            logger.warning("%s track %r failed; treating it as ended", self.kind, self.name, exc_info=True)
        if self._source is track:
            self._source_ended()


class MediaView(MediaStreamTrack, Generic[T]):
    """One consumer's view of a :class:`MediaHub`: ``recv()`` returns the oldest frame its backlog holds (decoded
    video: the newest frame; encoded: an ``av.Packet``, ``pts`` and ``time_base`` its own), or waits for the
    next. ``stop()`` (called by aiortc when a sender that owns the view goes away) ends this view only. Raises
    ``MediaStreamError`` from ``recv()`` once the view or its hub has ended. A view given to another hub as its
    source pushes each frame on to that hub instead of keeping it."""

    def __init__(self, hub: MediaHub[T]) -> None:
        super().__init__()
        self.kind = hub.kind
        self.name = hub.name
        self._hub = hub
        self._backlog = hub.policy.backlog(hub.kind)
        self._arrived = asyncio.Event()
        self._sink: MediaHub[T] | None = None  # the hub this view is the source of

    @property
    def hub(self) -> MediaHub[T]:
        """The hub this view reads."""
        return self._hub

    @property
    def frames_dropped(self) -> int:
        """Frames this view's consumer never got: replaced (video), pushed out of the window (audio), past the
        bound or waiting for a keyframe (encoded video)."""
        return self._backlog.dropped

    async def recv(self) -> T:
        """The oldest frame this view holds, waiting for one if none; raises ``MediaStreamError`` once the view
        or its hub has ended."""
        hub = self._hub
        hub._waiting_reads += 1
        try:
            frames = self._backlog.frames
            while not frames:
                if self.readyState != "live":
                    raise MediaStreamError
                self._arrived.clear()
                await self._arrived.wait()
            return frames.popleft()
        finally:
            hub._waiting_reads -= 1
            hub._last_read = time.monotonic()

    def subscribe(self) -> MediaView[T]:
        """Another independent view of the same hub."""
        return self._hub.subscribe()

    def stop(self) -> None:
        """End this view only (aiortc calls it when a sender that owns the view goes away)."""
        self._hub._unsubscribe(self)
        self._end()

    def _take_over(self, sink: MediaHub[T]) -> None:
        """Become ``sink``'s source: what this view holds and every later frame go to it."""
        if self.readyState != "live":
            sink._source_ended()
            return
        self._sink = sink
        frames = self._backlog.frames
        while frames:
            sink.push(frames.popleft())

    def _push(self, frame: T) -> None:
        if self._sink is not None:
            self._sink.push(frame)
        elif self._backlog.put(frame):
            self._hub.request_keyframe()
        else:
            self._arrived.set()

    def _lost(self) -> None:
        if self._sink is not None:
            self._sink.lost()
        else:
            self._backlog.lost()

    def _end(self) -> None:
        if self.readyState == "live":
            super().stop()
        self._backlog.frames.clear()
        self._arrived.set()  # wake a waiting recv() so it raises MediaStreamError
        sink, self._sink = self._sink, None
        if sink is not None:
            sink._source_ended()


#: A hub of decoded frames (:data:`DECODED`), and a view of one.
FrameHub: TypeAlias = MediaHub[Frame]
FrameView: TypeAlias = MediaView[Frame]
#: A hub of encoded frames (:data:`ENCODED`), and a view of one (what a passthrough sender reads).
EncodedHub: TypeAlias = MediaHub[av.Packet]
PacketView: TypeAlias = MediaView[av.Packet]
