"""The relay's jitter buffer releases a video frame on its marker bit, not one frame later."""

from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

from reactor_web.jitter import MarkerBitJitterBuffer


def _packet(seq: int, timestamp: int, payload: bytes, marker: bool = False) -> RtpPacket:
    packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=timestamp, marker=int(marker))
    packet._data = payload  # what the receiver's depayloader sets
    return packet


def _feed(buffer: JitterBuffer, packets: list[RtpPacket]) -> list[tuple[int, bytes] | None]:
    out = []
    for packet in packets:
        _, frame = buffer.add(packet)
        out.append(None if frame is None else (frame.timestamp, frame.data))
    return out


FRAME_A = [_packet(100, 3000, b"a1"), _packet(101, 3000, b"a2"), _packet(102, 3000, b"a3", marker=True)]
FRAME_B = [_packet(103, 6000, b"b1"), _packet(104, 6000, b"b2", marker=True)]


def test_stock_buffer_holds_a_complete_frame_until_the_next_one_starts() -> None:
    results = _feed(JitterBuffer(capacity=128, is_video=True), FRAME_A + FRAME_B)
    assert results[:3] == [None, None, None]
    assert results[3] == (3000, b"a1a2a3")


def test_marker_bit_releases_the_frame_with_its_last_packet() -> None:
    results = _feed(MarkerBitJitterBuffer(capacity=128, is_video=True), FRAME_A + FRAME_B)
    assert results == [None, None, (3000, b"a1a2a3"), None, (6000, b"b1b2")]


def test_a_gap_before_the_marker_keeps_the_frame_back() -> None:
    buffer = MarkerBitJitterBuffer(capacity=128, is_video=True)
    results = _feed(buffer, [FRAME_A[0], FRAME_A[2]])
    assert results == [None, None]
    assert _feed(buffer, [FRAME_A[1]]) == [(3000, b"a1a2a3")]


def test_late_packets_of_a_released_frame_are_dropped() -> None:
    buffer = MarkerBitJitterBuffer(capacity=128, is_video=True)
    _feed(buffer, FRAME_A)
    assert _feed(buffer, [_packet(101, 3000, b"dup")]) == [None]
    assert _feed(buffer, FRAME_B) == [None, (6000, b"b1b2")]


def test_audio_buffers_ignore_the_marker_bit() -> None:
    buffer = MarkerBitJitterBuffer(capacity=16, prefetch=4, is_video=False)
    assert _feed(buffer, [_packet(1, 960, b"x", marker=True)]) == [None]
