"""Received tracks that can never pile up frames.

aiortc's ``RemoteStreamTrack`` queues every decoded frame in an unbounded ``asyncio.Queue``: a track
nobody reads grows memory without limit, and a slow reader falls ever further behind. So the client
reads every remote track itself (:class:`TrackFeed`, a :class:`~reactor_web._media.FrameHub` with one
task per track, started on ``track`` and closed on disconnect) and hands frames to
:class:`ReceivedTrack` views that hold only the newest ones: one frame for video (latest-frame-only), a
short window for audio so speech is not chopped. With no consumer, frames are dropped as they arrive.

``Reactor.tracks[name]`` is the feed's primary view. A second consumer calls ``subscribe()`` to get its
own view, which it may hand to an aiortc sender: stopping a view never ends the feed. Views share frame
objects, so consumers must not modify them. Video frames carry their arrival time: ``pts`` on the
process-wide 90 kHz media clock (``time_base`` 1/90000), monotonic across reconnects.
"""

from __future__ import annotations

from aiortc.mediastreams import MediaStreamTrack

from reactor_web._media import FrameHub, FrameView

#: A view of a received track (``Reactor.tracks[name]``, or ``subscribe()`` for another one).
ReceivedTrack = FrameView


class TrackFeed(FrameHub):
    """Drains one remote track into its views; ends them when the track ends. ``track`` is the primary view."""

    def __init__(self, name: str, source: MediaStreamTrack) -> None:
        super().__init__(source.kind, name=name, restamp=True, ends_with_source=True)
        self.track = self.subscribe()
        self.set_source(source)
