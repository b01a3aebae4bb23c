"""Where a connect's time goes, from the user's click to the model's first frame shown in the page.

A connect crosses two clocks. The backend's moments (the event handler starting, the client's connect and
its :class:`~reactor_web.client.ConnectionTimings`, the relay handing the first frame to the page's sender)
are on its clock; the page's (the click, ``ready`` rendered, the first frame shown) on the page's. The page
puts its moments on the backend's clock itself: the backend answers each heartbeat with its time, and the
page keeps the offset of the least-delayed answer (NTP's estimate, within half that round trip). The two
totals, click → ready shown and click → first frame shown, are differences on the page's clock alone.

The stages add up to click → first frame shown (the offset cancels out in the sum); each is None until
its two ends are known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypedDict

from reactor_web.client import ConnectionTimings

#: Page times further than this from the backend's clock (after the offset) are not believed.
MAX_CLOCK_OFFSET_MS = 24 * 3600 * 1000.0


class ConnectBreakdown(TypedDict):
    """A connect's stages in milliseconds (None: not known, e.g. the page reported nothing), in order.

    ``click_to_backend_ms`` (the click until the connect handler runs: the Reflex websocket, its event queue
    and state), ``handler_ms`` (the handler until the client's connect starts: the tab's lookup, or the
    forwarding to the worker holding it), ``session_creation_ms`` and ``transport_connecting_ms`` (the
    client's: session created and the runtime's session started, then SDP, ICE, DTLS and the data channel),
    ``first_keyframe_ms`` (ready until the first complete frame of the main video reaches the client),
    ``relay_ms`` (until the relay hands it to the page's sender), ``page_frame_ms`` (until the page shows
    it: the network, the browser's jitter buffer, decoder and compositor), ``click_to_frame_ms`` (their
    sum, the page's own measure); and apart, ``ready_shown_ms`` (the client ready until the page renders
    ``ready``: the state update over the websocket), ``click_to_ready_ms``, and ``clock_error_ms`` (the most
    a stage that crosses the two clocks can be off by: half the best heartbeat round trip).
    """

    click_to_backend_ms: float | None
    handler_ms: float | None
    session_creation_ms: float | None
    transport_connecting_ms: float | None
    ice_dtls_ms: float | None
    first_keyframe_ms: float | None
    relay_ms: float | None
    page_frame_ms: float | None
    click_to_frame_ms: float | None
    ready_shown_ms: float | None
    click_to_ready_ms: float | None
    clock_error_ms: float | None


@dataclass(frozen=True, slots=True)
class PageMarks:
    """What the page reports of a connect, on its own clock (ms since the epoch): when it rendered ``ready``
    and when it showed the main video's first frame (either None while not yet), with ``offset_ms`` (the
    backend's clock minus the page's) and ``rtt_ms`` (the heartbeat round trip it was estimated from)."""

    ready_shown_at: float | None
    first_frame_at: float | None
    offset_ms: float
    rtt_ms: float

    @classmethod
    def parse(cls, raw: Any) -> PageMarks | None:
        """Read the page's ``{"type": "connect_marks", ...}``; None for anything malformed (never raises)."""
        if not isinstance(raw, dict):
            return None
        offset, rtt = finite(raw.get("offset_ms")), finite(raw.get("rtt_ms"))
        if offset is None or rtt is None or rtt < 0 or abs(offset) > MAX_CLOCK_OFFSET_MS:
            return None
        ready, frame = raw.get("ready_shown_at"), raw.get("first_frame_at")
        marks = cls(finite(ready), finite(frame), offset, rtt)
        if (ready is not None and marks.ready_shown_at is None) or (frame is not None and marks.first_frame_at is None):
            return None  # present but not a number: the whole report is suspect
        return marks


def finite(value: Any) -> float | None:
    """``value`` as a float when it is a finite JSON number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


class ConnectTimeline:
    """The moments of one connect, as they arrive; :meth:`breakdown` says what they amount to so far.

    All backend moments are ms since the epoch on the backend's clock (``time.time() * 1000``)."""

    def __init__(self, *, requested_at: float | None, handled_at: float | None) -> None:
        """``requested_at``: the click, on the page's clock (None: not told); ``handled_at``: when the event
        handler ran (None: the connect did not come from the page, e.g. an automatic retry)."""
        self._requested_at = requested_at
        self._handled_at = handled_at
        self._client_started_at: float | None = None
        self._timings: ConnectionTimings | None = None
        self._relayed_at: float | None = None
        self._marks: PageMarks | None = None

    def client_started(self, at: float) -> None:
        """The client's ``connect()`` starts now (its timings count from here)."""
        self._client_started_at = at

    def client_timings(self, timings: ConnectionTimings) -> bool:
        """The client's timings (its stats carry them, ``first_frame_ms`` once the first frame came); those of a
        later connection of the session (a reconnect: another ``total_ms``) are not this connect's. Returns
        whether the breakdown changed."""
        if timings == self._timings or (self._timings is not None and timings.total_ms != self._timings.total_ms):
            return False
        self._timings = timings
        return True

    def relayed(self, at: float) -> bool:
        """The relay handed the session's first main-video frame to the page's sender; False if not the first."""
        if self._relayed_at is not None:
            return False
        self._relayed_at = at
        return True

    def page_marks(self, marks: PageMarks) -> None:
        """The page's report of this connect."""
        self._marks = marks

    def breakdown(self) -> ConnectBreakdown:
        """The stages known so far (see :class:`ConnectBreakdown`)."""
        t, marks, start = self._timings, self._marks, self._client_started_at
        offset = marks.offset_ms if marks is not None else None
        # Page moments on the backend's clock.
        requested = _plus(self._requested_at, offset)
        shown_ready = _plus(marks.ready_shown_at, offset) if marks is not None else None
        shown_frame = _plus(marks.first_frame_at, offset) if marks is not None else None
        ready_at = _plus(start, t.total_ms) if t is not None else None
        first_at = _plus(start, t.first_frame_ms) if t is not None else None
        return ConnectBreakdown(
            click_to_backend_ms=_minus(self._handled_at, requested),
            handler_ms=_minus(start, self._handled_at),
            session_creation_ms=t.session_creation_ms if t is not None else None,
            transport_connecting_ms=t.transport_connecting_ms if t is not None else None,
            ice_dtls_ms=t.total_ms - t.session_creation_ms - t.transport_connecting_ms if t is not None else None,
            first_keyframe_ms=_minus(first_at, ready_at),
            relay_ms=_minus(self._relayed_at, first_at),
            page_frame_ms=_minus(shown_frame, self._relayed_at),
            click_to_frame_ms=_minus(marks.first_frame_at, self._requested_at) if marks is not None else None,
            ready_shown_ms=_minus(shown_ready, ready_at),
            click_to_ready_ms=_minus(marks.ready_shown_at, self._requested_at) if marks is not None else None,
            clock_error_ms=marks.rtt_ms / 2 if marks is not None else None,
        )


def _plus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b
