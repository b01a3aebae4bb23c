"""Encoded passthrough: received frames forwarded as the sender encoded them (private).

aiortc assembles each received frame in its receiver's jitter buffer, then decodes it on a thread; its
senders pack a pre-encoded ``av.Packet`` without encoding (``Vp8Encoder.pack``, ``H264Encoder.pack``,
``OpusEncoder.pack``). So a relay can forward the GPU's VP8 or H.264 video and its Opus audio to the page
unchanged, and decode only when something asks for pixels or samples. For audio that also spares the
sender aiortc's per-frame work on decoded audio: a thread-pool hop to the encoder and the audio level it
computes in Python over every sample, together most of a relayed tab's CPU before:

* :class:`EncodedTap` sits in one receiver's :class:`~reactor_web.jitter.MarkerBitJitterBuffer`. Every
  completed frame goes to its :data:`~reactor_web._media.EncodedHub` (a :class:`~reactor_web._media.MediaHub`
  of ``av.Packet`` with the :data:`~reactor_web._media.ENCODED` policy: what each sender's view keeps is
  described there) as a packet (:func:`encoded_frame`); the frame reaches the decoder only while
  ``decode_wanted()`` says someone reads pixels (starting at a keyframe it asks for), so with nobody reading
  pixels the decoder thread idles. It sends the upstream keyframe requests (PLI): it is its hub's
  :class:`~reactor_web._media.KeyframeSource`.
* :func:`relay_mode` is the one rule saying whether a sender can send a hub's encoded frames as they are
  (:attr:`RelayMode.PASSTHROUGH`) or must encode decoded ones (:attr:`RelayMode.TRANSCODE`): the client's
  publications and the relay's outputs both follow it.
* :class:`SwitchedTrack` is the track a sender owns: it reads an encoded or a decoded view and switches
  between them without ending the sender.

Nothing here touches aiortc for other peers: the tap is installed on receivers our peers own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from enum import StrEnum
from fractions import Fraction
from typing import Any, Protocol

import av
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from reactor_web._media import AUDIO_GAP_S, VIDEO_TIME_BASE, EncodedHub, audio_pts, media_clock

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
_H264_IDR, _H264_SPS = 5, 7


class RelayMode(StrEnum):
    """How a relayed track is sent on; the values are what Reflex state and the page show."""

    #: The frames as the far encoder made them (never decoded here).
    PASSTHROUGH = "passthrough"
    #: Decoded here and encoded again (another codec, or no encoded frames to forward).
    TRANSCODE = "transcode"
    #: Not sent (no connection, nothing published).
    NONE = ""


def relay_mode(frames_codec: str | None, sender_codec: str | None) -> RelayMode:
    """How a sender that negotiated ``sender_codec`` sends media whose encoded frames are in ``frames_codec``
    (MIME types; None: not known): as they are when both are the same codec aiortc packs, else transcoded."""
    if frames_codec is not None and frames_codec == sender_codec and frames_codec in PASSTHROUGH_CODECS:
        return RelayMode.PASSTHROUGH
    return RelayMode.TRANSCODE


def encoded_frame(data: bytes, keyframe: bool, pts: int, time_base: Fraction = VIDEO_TIME_BASE) -> av.Packet:
    """One complete encoded frame as the packet a sender packs: ``data`` as the codec's depayloader gives it (VP8
    frame bytes, H.264 Annex B NAL units, an Opus packet), ``keyframe`` whether it decodes alone
    (``is_keyframe``), ``pts`` in ``time_base``: for video its arrival on the process-wide 90 kHz media clock,
    for audio contiguous 48 kHz samples (monotonic across sources, both)."""
    packet = av.Packet(data)
    packet.pts, packet.time_base = pts, time_base
    packet.is_keyframe = keyframe
    return packet


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
            hub.set_keyframe_source(self)

    def on_frame(self, frame: JitterFrame, payload_type: int, ssrc: int) -> JitterFrame | None:
        """A frame the jitter buffer completed: forward it, and return it for decoding or None (not decoded)."""
        self._ssrc = ssrc
        codec = self._codecs().get(payload_type, "")
        keyframe = is_keyframe(codec, frame.data)
        if codec == OPUS:
            self.hub.codec = codec
            self.hub.push(encoded_frame(frame.data, keyframe, self._audio_pts(frame.timestamp), OPUS_TIME_BASE))
        elif codec in PASSTHROUGH_CODECS:
            self.hub.codec = codec
            self.hub.push(encoded_frame(frame.data, keyframe, media_clock()))
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


class SwitchedTrackListener(Protocol):
    """What a :class:`SwitchedTrack` tells its owner."""

    def next_frame_sent(self, track: SwitchedTrack) -> None:
        """``track`` handed its sender the frame :meth:`SwitchedTrack.time_next_frame` asked about."""


class SwitchedTrack(MediaStreamTrack):
    """The track a sender owns when what it sends can change between encoded and decoded frames: it reads
    whichever view it was last given, and switches views without ending (aiortc ends a sender for good when
    its track's ``recv()`` raises). ``listener`` hears of the next frame it sends after
    :meth:`time_next_frame` (the relay times a connect's first frame with it)."""

    def __init__(self, kind: str = "video", listener: SwitchedTrackListener | None = None) -> None:
        super().__init__()
        self.kind = kind
        self._view: MediaStreamTrack | None = None
        self._switched = asyncio.Event()
        self._listener = listener
        self._timed = False

    def time_next_frame(self) -> None:
        """Tell the listener, once, when this track next hands its sender a frame."""
        self._timed = True

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
            if self._timed:
                self._timed = False
                self._tell_sent()
            return frame

    def _tell_sent(self) -> None:
        if self._listener is None:
            return
        try:
            self._listener.next_frame_sent(self)
        except Exception:  # the listener's fault must not end the sender (aiortc reads this track)
            logger.exception("switched track listener failed")

    def stop(self) -> None:
        """End this track and its view (aiortc calls it when the sender goes away)."""
        super().stop()
        view, self._view = self._view, None
        self._switched.set()
        if view is not None:
            view.stop()
