"""Where a connect's time goes: the stages put the page's and the backend's moments on one clock."""

from __future__ import annotations

import json
import math

import pytest

from reactor_web.client import ConnectionTimings
from reactor_web.relay.timeline import ConnectTimeline, PageMarks

#: The page's clock runs 5 s behind the backend's: every page moment + OFFSET is the backend's time.
OFFSET = 5000.0
STAGES = (
    "click_to_backend_ms",
    "handler_ms",
    "session_creation_ms",
    "transport_connecting_ms",
    "ice_dtls_ms",
    "first_keyframe_ms",
    "relay_ms",
    "page_frame_ms",
)


def a_connect() -> ConnectTimeline:
    """Click at page 1000 (backend 6000); handler at 6010; client from 6012: session 40, offer/answer 20, ready at
    90, first frame at 120; relayed at 6133; the page rendered ready at page 1110 and the frame at page 1150."""
    timeline = ConnectTimeline(requested_at=1000.0, handled_at=6010.0)
    timeline.client_started(6012.0)
    timeline.client_timings(ConnectionTimings(40.0, 20.0, 90.0, 120.0))
    timeline.relayed(6133.0)
    timeline.page_marks(PageMarks(ready_shown_at=1110.0, first_frame_at=1150.0, offset_ms=OFFSET, rtt_ms=0.8))
    return timeline


def test_each_stage_is_measured_across_the_two_clocks() -> None:
    b = a_connect().breakdown()
    assert b["click_to_backend_ms"] == 10  # 6010 - (1000 + 5000)
    assert b["handler_ms"] == 2
    assert (b["session_creation_ms"], b["transport_connecting_ms"], b["ice_dtls_ms"]) == (40, 20, 30)
    assert b["first_keyframe_ms"] == 30  # first frame 120 - ready 90
    assert b["relay_ms"] == 1  # 6133 - (6012 + 120)
    assert b["page_frame_ms"] == 17  # (1150 + 5000) - 6133
    assert b["ready_shown_ms"] == 8  # (1110 + 5000) - (6012 + 90)
    assert (b["click_to_ready_ms"], b["click_to_frame_ms"]) == (110, 150)
    assert b["clock_error_ms"] == 0.4


@pytest.mark.parametrize("offset", [OFFSET, OFFSET + 3.0, OFFSET - 7.5])
def test_the_stages_add_up_to_the_pages_own_total_whatever_the_offset_estimate(offset: float) -> None:
    """A wrong offset moves time between the stages that cross the clocks, never changes their sum."""
    timeline = a_connect()
    timeline.page_marks(PageMarks(ready_shown_at=1110.0, first_frame_at=1150.0, offset_ms=offset, rtt_ms=0.8))
    b = timeline.breakdown()
    total = sum(b[stage] for stage in STAGES)  # type: ignore[misc]
    assert math.isclose(total, 150.0)
    assert b["click_to_frame_ms"] == 150


def test_stages_are_unknown_until_both_their_ends_are() -> None:
    timeline = ConnectTimeline(requested_at=None, handled_at=6010.0)  # a plain connect(): no click time
    assert set(timeline.breakdown().values()) == {None}
    timeline.client_started(6012.0)
    assert timeline.client_timings(ConnectionTimings(40.0, 20.0, 90.0))  # no frame yet
    b = timeline.breakdown()
    assert (b["handler_ms"], b["session_creation_ms"], b["ice_dtls_ms"]) == (2, 40, 30)
    assert b["first_keyframe_ms"] is None and b["relay_ms"] is None
    timeline.page_marks(PageMarks(ready_shown_at=1110.0, first_frame_at=None, offset_ms=OFFSET, rtt_ms=2.0))
    b = timeline.breakdown()
    assert b["ready_shown_ms"] == 8
    assert b["click_to_backend_ms"] is None and b["click_to_ready_ms"] is None and b["click_to_frame_ms"] is None


def test_a_later_connection_of_the_session_does_not_rewrite_the_connect() -> None:
    timeline = a_connect()
    assert not timeline.client_timings(ConnectionTimings(40.0, 20.0, 90.0, 120.0))  # the next sample: no change
    assert not timeline.client_timings(ConnectionTimings(0.0, 25.0, 61.0, 70.0))  # a reconnect's own timings
    assert timeline.breakdown()["session_creation_ms"] == 40
    assert not timeline.relayed(9999.0)  # only the connect's first frame is its relay moment
    assert timeline.breakdown()["relay_ms"] == 1


def test_the_pages_report_is_read_when_well_formed() -> None:
    raw = {"type": "connect_marks", "ready_shown_at": 1.5e12, "first_frame_at": 1.5e12 + 40, "offset_ms": -3}
    assert PageMarks.parse({**raw, "rtt_ms": 1}) == PageMarks(1.5e12, 1.5e12 + 40, -3.0, 1.0)
    assert PageMarks.parse({**raw, "rtt_ms": 1, "first_frame_at": None}) == PageMarks(1.5e12, None, -3.0, 1.0)


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        "connect_marks",
        {"type": "connect_marks"},  # no clock estimate
        {"offset_ms": 0},  # no round trip
        {"offset_ms": "0", "rtt_ms": 1},
        {"offset_ms": 0, "rtt_ms": -1},
        {"offset_ms": True, "rtt_ms": 1},
        {"offset_ms": 0, "rtt_ms": float("nan")},
        {"offset_ms": float("inf"), "rtt_ms": 1},
        {"offset_ms": 1e15, "rtt_ms": 1},  # a page clock years off: not believed
        {"offset_ms": 0, "rtt_ms": 1, "ready_shown_at": "soon"},
        {"offset_ms": 0, "rtt_ms": 1, "first_frame_at": [1]},
        json.loads('{"offset_ms": 0, "rtt_ms": 1, "first_frame_at": 1e400}'),  # inf once parsed
    ],
)
def test_a_malformed_report_is_dropped_whole(raw: object) -> None:
    assert PageMarks.parse(raw) is None
