"""Received tracks that can never pile up frames.

aiortc's ``RemoteStreamTrack`` queues every decoded frame in an unbounded ``asyncio.Queue``: a track
nobody reads grows memory without limit, and a slow reader falls ever further behind. So the client
reads every remote track itself (:class:`TrackFeed`, a :class:`~reactor_web._media.MediaHub` of decoded frames
with one task per track, started on ``track`` and closed on disconnect) and hands frames to
:class:`ReceivedTrack` views that hold only the newest ones: one frame for video (latest-frame-only), a
short window for audio so speech is not chopped. With no consumer, frames are dropped as they arrive.

A received track is decoded only while someone reads its pixels or samples (a view waits in ``recv()``, or
read within the last second: :meth:`~reactor_web._media.MediaHub.demanded`); its encoded frames (VP8 or
H.264 video, Opus audio) reach ``encoded`` (a hub of the same kind with the encoded policy) all the time, so
the relay can forward them to the page as the GPU encoded them. A video reader that starts gets its first
frame at the next keyframe, which the feed asks the GPU for.

``Reactor.tracks[name]`` is the feed's primary view. A second consumer calls ``subscribe()`` to get its
own view, which it may hand to an aiortc sender: stopping a view never ends the feed. Views share frame
objects, so consumers must not modify them. Video frames carry their arrival time: ``pts`` on the
process-wide 90 kHz media clock (``time_base`` 1/90000), monotonic across reconnects.
"""

from __future__ import annotations

from aiortc.mediastreams import MediaStreamTrack
from av.frame import Frame

from reactor_web._encoded import EncodedTap
from reactor_web._media import DECODED, ENCODED, EncodedHub, FrameView, MediaHub

#: A view of a received track (``Reactor.tracks[name]``, or ``subscribe()`` for another one).
ReceivedTrack = FrameView


class TrackFeed(MediaHub[Frame]):
    """Drains one remote track into its views; ends them when the track ends. ``track`` is the primary view;
    ``encoded`` the track's encoded frames, fed once the transport sets ``tap``."""

    def __init__(self, name: str, source: MediaStreamTrack, codec: str | None = None) -> None:
        super().__init__(source.kind, DECODED, name=name, restamp=True, ends_with_source=True)
        self.track = self.subscribe()
        self.encoded: EncodedHub = MediaHub(source.kind, ENCODED, name=name, codec=codec)
        #: What the receiver's jitter buffer hands completed frames to (set by the transport).
        self.tap: EncodedTap | None = None
        self.set_source(source)

    @property
    def frames_arrived(self) -> int:
        """Complete frames received: counted encoded when tapped (decoded or not), else as decoded."""
        return self.encoded.frames_received if self.tap is not None else self.frames_received

    @property
    def first_arrival_at(self) -> float | None:
        """When (monotonic seconds) the first complete frame arrived, decoded or not; None before."""
        if self.tap is not None:
            return self.encoded.first_frame_at
        return self.first_frame_at

    async def close(self) -> None:
        """End the views and the encoded hub; the tap stops asking the GPU for keyframes."""
        if self.tap is not None:
            self.tap.close()
        await self.encoded.close()
        await super().close()
