"""Encoded passthrough: received frames forwarded as the sender encoded them (private).

aiortc assembles each received frame in its receiver's jitter buffer, then decodes it on a thread; its
senders pack a pre-encoded ``av.Packet`` without encoding (``Vp8Encoder.pack``, ``H264Encoder.pack``,
``OpusEncoder.pack``). So a relay can forward the GPU's VP8 or H.264 video and its Opus audio to the page
unchanged, and decode only when something asks for pixels or samples. For audio that also spares the
sender aiortc's per-frame work on decoded audio: a thread-pool hop to the encoder and the audio level it
computes in Python over every sample, together most of a relayed tab's CPU before:

* :class:`EncodedTap` sits in one receiver's :class:`~reactor_web.jitter.MarkerBitJitterBuffer`. Every
  completed frame goes to its :class:`EncodedHub` as an :class:`EncodedFrame`; the frame reaches the
  decoder only while ``decode_wanted()`` says someone reads pixels (starting at a keyframe it asks for),
  so with nobody reading pixels the decoder thread idles. It sends the upstream keyframe requests (PLI).
* :class:`EncodedHub` holds the newest frame for each :class:`PacketView` and outlives its sources (a GPU
  reconnect brings a new tap) like a :class:`~reactor_web._media.FrameHub`.
* :class:`PacketView` is the view a sender reads: ``recv()`` returns ``av.Packet``. Audio frames each decode
  alone: a view keeps up to :data:`~reactor_web._media.AUDIO_MAX_FRAMES` of them, dropping the oldest, as a
  decoded audio view does. A video decoder cannot skip a frame the next one refers to, so latest-frame-only
  cannot hold literally there: a view keeps the frames
  since the last keyframe its sender has not read yet, at most :data:`MAX_ENCODED_BACKLOG` (a keyframe
  replaces them all), and past that drops them and waits for the next keyframe, asking for it (as it does
  when it starts, or is told of loss upstream). Dropping at the first frame not read in time instead made a
  busy backend's sender, late by a frame now and then, wait for keyframe after keyframe: under load whole
  tabs got no video at all (``bench/tabs.py``).

* :class:`SwitchedTrack` is the track a sender owns: it reads a :class:`PacketView` or a decoded
  :class:`~reactor_web._media.FrameView` and switches between them without ending the sender.

Nothing here touches aiortc for other peers: the tap is installed on receivers our peers own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from reactor_web._media import AUDIO_GAP_S, AUDIO_MAX_FRAMES, VIDEO_TIME_BASE, audio_pts, media_clock

logger = logging.getLogger(__name__)

VP8 = "video/VP8"
H264 = "video/H264"
OPUS = "audio/opus"
#: The codecs whose encoded frames aiortc's senders can pack as they are.
PASSTHROUGH_CODECS = frozenset({VP8, H264, OPUS})
#: Opus's RTP clock (RFC 7587): its RTP timestamps count 48 kHz samples whatever the audio's own rate.
OPUS_CLOCK_RATE = 48_000
OPUS_TIME_BASE = Fraction(1, OPUS_CLOCK_RATE)
#: Upstream keyframe requests are sent at most this often (seconds): a burst of losses asks once.
KEYFRAME_REQUEST_INTERVAL_S = 0.25
#: The most frames a :class:`PacketView` holds for its sender (100 ms at 30 fps): a sender late by up to this
#: much catches up without losing the picture; later, the view restarts at a keyframe.
MAX_ENCODED_BACKLOG = 3
_H264_IDR, _H264_SPS = 5, 7


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """One complete encoded frame: ``data`` as the codec's depayloader gives it (VP8 frame bytes, H.264 Annex B
    NAL units, an Opus packet), ``codec`` its MIME type, ``keyframe`` whether it decodes alone, ``pts`` in
    ``time_base``: for video its arrival on the process-wide 90 kHz media clock, for audio contiguous 48 kHz
    samples (monotonic across sources, both)."""

    data: bytes
    codec: str
    keyframe: bool
    pts: int
    time_base: Fraction = VIDEO_TIME_BASE


def is_keyframe(codec: str, data: bytes) -> bool:
    """Whether ``data`` (one frame of ``codec``) decodes without earlier frames."""
    if not data:
        return False
    if codec == OPUS:
        return True  # every Opus packet decodes alone
    if codec == VP8:
        return data[0] & 0x01 == 0  # the frame tag's inverse key-frame bit (RFC 6386 §9.1)
    if codec == H264:
        # Every received frame passes here: find the start codes with bytes.find (C), not a Python byte loop.
        start = data.find(b"\x00\x00\x01")
        while 0 <= start < len(data) - 3:
            if data[start + 3] & 0x1F in (_H264_IDR, _H264_SPS):
                return True
            start = data.find(b"\x00\x00\x01", start + 3)
        return False
    return False


class EncodedHub:
    """The newest encoded frame of a video source, for each of its :class:`PacketView` views.

    A hub is fed either by a receiver's :class:`EncodedTap` (the client's hub of a received track) or by
    another hub (:meth:`set_source`: the relay's hub, which outlives the client's hub of each GPU
    connection). Keyframe requests travel the other way, to the sender at the far end of the source.
    Counts what arrived (``frames_received``, ``first_frame_at`` monotonic seconds) whether or not anything
    decoded it; ``codec`` is the MIME type of the frames (the negotiated one until the first frame)."""

    def __init__(self, name: str = "", codec: str | None = None, kind: str = "video") -> None:
        self.name = name
        self.codec = codec
        #: "video" or "audio": what its views are (aiortc's sender of a view takes the view's kind).
        self.kind = kind
        self.frames_received = 0
        self.first_frame_at: float | None = None
        self._views: list[PacketView] = []
        self._downstream: list[EncodedHub] = []
        self._source: EncodedHub | None = None
        self._request_keyframe: Callable[[], None] | None = None
        self._closed = False

    @property
    def source(self) -> EncodedHub | None:
        """The hub this one forwards (None when fed by a tap, or by nothing)."""
        return self._source

    def subscribe(self) -> PacketView:
        """A new view; it starts at the next keyframe (asked for at once)."""
        view = PacketView(self)
        if self._closed:
            view._end()
        else:
            self._views.append(view)
            self.request_keyframe()
        return view

    def set_source(self, source: EncodedHub | None) -> None:
        """Forward ``source``'s frames from now on (None: none); views restart at its next keyframe."""
        if source is self._source or self._closed:
            return
        if self._source is not None and self in self._source._downstream:
            self._source._downstream.remove(self)
        self._source = source
        if source is not None:
            self.codec = source.codec
            source._downstream.append(self)
            self.lost()  # another encoder's stream: no view may continue across the change with a delta
            self.request_keyframe()

    def set_keyframe_requester(self, request: Callable[[], None] | None) -> None:
        """How to ask the sender of this hub's frames for a keyframe (a tap's; None: none now)."""
        self._request_keyframe = request

    def request_keyframe(self) -> None:
        """Ask the far sender for a keyframe (nothing when there is none)."""
        if self._request_keyframe is not None:
            self._request_keyframe()
        elif self._source is not None:
            self._source.request_keyframe()

    def push(self, frame: EncodedFrame) -> None:
        """Offer a frame to every view and every hub that forwards this one."""
        if self._closed:
            return
        if self.first_frame_at is None:
            self.first_frame_at = time.monotonic()
        self.frames_received += 1
        self.codec = frame.codec
        for view in self._views:
            view._push(frame)
        for hub in self._downstream:
            hub.push(frame)

    def lost(self) -> None:
        """Frames were lost upstream: every view (here and downstream) waits for the next keyframe."""
        for view in self._views:
            view._needs_keyframe = True
        for hub in self._downstream:
            hub.lost()

    def close(self) -> None:
        """End every view; hubs forwarding this one lose their source (they stay open); idempotent."""
        self._closed = True
        self._request_keyframe = None
        self.set_source(None)
        for hub in list(self._downstream):
            hub._source = None
        self._downstream.clear()
        views, self._views = self._views, []
        for view in views:
            view._end()

    def _unsubscribe(self, view: PacketView) -> None:
        if view in self._views:
            self._views.remove(view)


class PacketView(MediaStreamTrack):
    """A sender's view of an :class:`EncodedHub`: ``recv()`` returns the oldest frame its sender has not read
    as an ``av.Packet`` (``pts`` and ``time_base`` the frame's), for video at most :data:`MAX_ENCODED_BACKLOG`
    behind and never a frame whose references it skipped, for audio at most
    :data:`~reactor_web._media.AUDIO_MAX_FRAMES` behind. ``stop()`` ends this view only. Raises
    ``MediaStreamError`` from ``recv()`` once the view or its hub has ended."""

    def __init__(self, hub: EncodedHub) -> None:
        super().__init__()
        self.kind = hub.kind
        self._hub = hub
        self._frames: deque[EncodedFrame] = deque()
        self._arrived = asyncio.Event()
        self._needs_keyframe = True
        #: Frames this view skipped: a backlog past its bound, or deltas while it waited for a keyframe.
        self.frames_dropped = 0

    async def recv(self) -> av.Packet:
        """The next frame as a packet, waiting for one; raises ``MediaStreamError`` once ended."""
        while not self._frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._arrived.clear()
            await self._arrived.wait()
        frame = self._frames.popleft()
        packet = av.Packet(frame.data)
        packet.pts, packet.time_base = frame.pts, frame.time_base
        return packet

    def stop(self) -> None:
        """End this view only (aiortc calls it when the sender that owns it goes away)."""
        self._hub._unsubscribe(self)
        self._end()

    def _push(self, frame: EncodedFrame) -> None:
        if self.kind == "audio":  # each decodes alone; a late sender loses the oldest, as with decoded audio
            if len(self._frames) >= AUDIO_MAX_FRAMES:
                self._frames.popleft()
                self.frames_dropped += 1
            self._frames.append(frame)
            self._arrived.set()
            return
        if frame.keyframe:  # it decodes alone: nothing before it is needed any more
            self.frames_dropped += len(self._frames)
            self._frames.clear()
            self._needs_keyframe = False
        elif len(self._frames) >= MAX_ENCODED_BACKLOG:  # too far behind: the next delta refers to a frame dropped
            self.frames_dropped += len(self._frames)
            self._frames.clear()
            self._needs_keyframe = True
        if self._needs_keyframe:
            self.frames_dropped += 1
            self._hub.request_keyframe()
            return
        self._frames.append(frame)
        self._arrived.set()

    def _end(self) -> None:
        if self.readyState == "live":
            super().stop()
        self._frames.clear()
        self._arrived.set()


class EncodedTap:
    """Installed in one receiver's jitter buffer: hands each completed frame to ``hub`` and decides whether the
    receiver's decoder gets it.

    ``codecs`` maps RTP payload types to MIME types (the receiver's negotiated codecs). ``send_pli(ssrc)``
    sends the upstream keyframe request (the receiver's RTCP PLI, a coroutine; video only). ``decode_wanted()``
    says whether someone reads this track's pixels (or samples) now; decoding starts at a keyframe and stops
    when it is False. The hub's ``kind`` says which the receiver is.
    """

    def __init__(
        self,
        hub: EncodedHub,
        codecs: Callable[[], dict[int, str]],
        send_pli: Callable[[int], Coroutine[Any, Any, None]],
        decode_wanted: Callable[[], bool],
    ) -> None:
        self.hub = hub
        self._codecs = codecs
        self._send_pli = send_pli
        self._decode_wanted = decode_wanted
        self._decoding = False
        self._ssrc: int | None = None
        self._last_request = -KEYFRAME_REQUEST_INTERVAL_S
        self._pending: set[asyncio.Task[None]] = set()
        self._closed = False
        #: Frames handed to the decoder, and frames kept from it (nobody read pixels).
        self.frames_decoded = 0
        self.frames_not_decoded = 0
        #: Audio: the last frame's RTP timestamp and the pts it was given.
        self._audio_last: tuple[int, int] | None = None
        if hub.kind == "video":
            hub.set_keyframe_requester(self.request_keyframe)

    def on_frame(self, frame: JitterFrame, payload_type: int, ssrc: int) -> JitterFrame | None:
        """A frame the jitter buffer completed: forward it, and return it for decoding or None (not decoded)."""
        self._ssrc = ssrc
        codec = self._codecs().get(payload_type, "")
        keyframe = is_keyframe(codec, frame.data)
        if codec == OPUS:
            self.hub.push(EncodedFrame(frame.data, codec, keyframe, self._audio_pts(frame.timestamp), OPUS_TIME_BASE))
        elif codec in PASSTHROUGH_CODECS:
            self.hub.push(EncodedFrame(frame.data, codec, keyframe, media_clock()))
        if not self._decode_wanted() and codec in PASSTHROUGH_CODECS:
            self._decoding = False
            self.frames_not_decoded += 1
            return None
        if not self._decoding and codec in PASSTHROUGH_CODECS and not keyframe:
            self.request_keyframe()  # (re)starting the decoder: it needs a frame that decodes alone
            self.frames_not_decoded += 1
            return None
        self._decoding = True
        self.frames_decoded += 1
        return frame

    def _audio_pts(self, rtp_timestamp: int) -> int:
        """As a decoded hub stamps audio (:func:`~reactor_web._media.audio_pts`), the RTP timestamps' step
        standing for the previous frame's samples; a step that is no step of one stream (a reconnect's new
        timestamps) continues nothing, and the pts never goes backwards."""
        last = self._audio_last
        contiguous = None
        if last is not None:
            step = (rtp_timestamp - last[0]) % 2**32
            contiguous = last[1] + step if 0 < step <= AUDIO_GAP_S * OPUS_CLOCK_RATE else None
        pts = audio_pts(OPUS_CLOCK_RATE, contiguous)
        if last is not None:
            pts = max(pts, last[1] + 1)
        self._audio_last = (rtp_timestamp, pts)
        return pts

    def on_loss(self) -> None:
        """The jitter buffer lost packets (it asks for a keyframe itself): views wait for that keyframe."""
        self.hub.lost()

    def request_keyframe(self) -> None:
        """Send the upstream sender a PLI, at most every ``KEYFRAME_REQUEST_INTERVAL_S``."""
        now = time.monotonic()
        if self._closed or self._ssrc is None or now - self._last_request < KEYFRAME_REQUEST_INTERVAL_S:
            return
        self._last_request = now
        task = asyncio.get_running_loop().create_task(self._send_pli(self._ssrc), name="keyframe-request")
        self._pending.add(task)
        task.add_done_callback(self._request_done)

    def close(self) -> None:
        """Stop requesting keyframes (the receiver is going away); the hub is closed by its owner."""
        self._closed = True
        for task in self._pending:
            task.cancel()

    def _request_done(self, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.debug("keyframe request not sent: %r", task.exception())


class SwitchedTrack(MediaStreamTrack):
    """The track a sender owns when what it sends can change between encoded and decoded frames: it reads
    whichever view it was last given, and switches views without ending (aiortc ends a sender for good when
    its track's ``recv()`` raises)."""

    def __init__(self, kind: str = "video") -> None:
        super().__init__()
        self.kind = kind
        self._view: MediaStreamTrack | None = None
        self._switched = asyncio.Event()
        #: Called once, when this track next hands its sender a frame, then cleared (the relay times a
        #: connect's first frame with it).
        self.on_next_frame: Callable[[], None] | None = None

    @property
    def view(self) -> MediaStreamTrack | None:
        """The view read now (None before the first)."""
        return self._view

    def switch(self, view: MediaStreamTrack) -> None:
        """Read ``view`` from now on; the previous view is ended (this track owns its views)."""
        old, self._view = self._view, view
        self._switched.set()
        if old is not None:
            old.stop()

    async def recv(self) -> Any:
        """The next frame (``VideoFrame``) or packet (``av.Packet``) of the current view."""
        while True:
            view = self._view
            if self.readyState != "live":
                raise MediaStreamError
            if view is None:
                self._switched.clear()
                await self._switched.wait()
                continue
            try:
                frame = await view.recv()
            except MediaStreamError:
                if view is self._view:
                    raise  # the view itself ended (its hub closed): so does the sender
                continue  # switched while waiting: read the new view
            notify, self.on_next_frame = self.on_next_frame, None
            if notify is not None:
                notify()
            return frame

    def stop(self) -> None:
        """End this track and its view (aiortc calls it when the sender goes away)."""
        super().stop()
        view, self._view = self._view, None
        self._switched.set()
        if view is not None:
            view.stop()
