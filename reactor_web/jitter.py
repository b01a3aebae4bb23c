"""Low-latency video jitter buffer for aiortc receivers.

aiortc 1.16's video ``JitterBuffer`` hands a frame to the decoder only when a packet of the *next* frame
arrives, so every aiortc receive hop holds each frame for one frame interval (~33 ms at 30 fps). The
RTP marker bit is set on the last packet of a video frame (VP8, H.264), so a contiguous run of packets
that ends with a marker is already a complete frame: release it then. Without a marker (lost packet)
the stock next-timestamp rule still applies. Audio buffers are left untouched: there the marker bit
means the start of a talkspurt, not the end of a frame.

Every receiving leg uses it on the video receivers of its own peer connections: the client (GPU →
backend), the relay (camera → backend) and the runtime (backend → model); ``_aiortc.PeerOptions`` turns
it off. Other aiortc peers in the process keep aiortc's stock buffer.

It is also where encoded frames can be taken: with an :class:`~reactor_web._encoded.EncodedTap` set, each
completed frame goes to the tap, which forwards it and decides whether the receiver decodes it. Audio
receivers get it too (``is_video=False``), for the tap alone: it keeps aiortc's audio behaviour.
"""

from __future__ import annotations

from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtp import RtpPacket

from reactor_web._encoded import EncodedTap


class MarkerBitJitterBuffer(JitterBuffer):
    """A ``JitterBuffer`` that completes a video frame on its marker-bit packet, and hands completed frames
    to its ``tap`` (None: all go to the decoder, as with aiortc's buffer)."""

    tap: EncodedTap | None = None

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        pli_flag, frame = super().add(packet)
        tap = self.tap
        if tap is not None:
            if pli_flag:
                tap.on_loss()
            if frame is not None:
                frame = tap.on_frame(frame, packet.payload_type, packet.ssrc)
        return pli_flag, frame

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        frame = super()._remove_frame(sequence_number)
        if frame is not None or not self._is_video or self._origin is None:
            return frame
        timestamp: int | None = None
        chunks: list[bytes] = []
        for count in range(self.capacity):
            packet = self._packets[(self._origin + count) % self.capacity]
            if packet is None or (timestamp is not None and packet.timestamp != timestamp):
                return None
            timestamp = packet.timestamp
            chunks.append(packet._data)  # type: ignore[attr-defined]  # depayloaded by the receiver
            if packet.marker:
                self.remove(count + 1)
                return JitterFrame(data=b"".join(chunks), timestamp=timestamp)
        return None
