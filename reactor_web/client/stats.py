"""Connection statistics every 2 s while connected (Part A §9), as snake_case dataclasses.

aiortc's ``getStats()`` is thinner than a browser's: it has no ``candidate-pair`` entries and no
``framesPerSecond``. So ``frames_per_second`` is measured from the complete frames the client received on
the main video track (counted in its jitter buffer whether or not anything decoded them; not what the
sender claims); ``rtt`` comes from ``remote-inbound-rtp`` (RTCP from
the runtime about what we send: only while a track is published), else from the SCTP association's
smoothed round-trip time (the data channel shares the ICE path, and its pings are acknowledged);
``candidate_type`` from the nominated ICE pair; the bitrates from the transport's byte counters between
two samples; and ``available_outgoing_bitrate`` stays None (aiortc does not estimate it).

``protocol`` says which wire version the data channels speak (``v0`` JSON, ``v1`` protobuf; not in the JS SDK).
``connection_timings`` has the JS SDK's three (Part A §9) plus ``first_frame_ms``, the time from
``connect()`` to the first complete frame of the main video: what a user waits before seeing anything.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

from reactor_web._media import VIDEO_CLOCK_RATE
from reactor_web.client.tracks import TrackFeed
from reactor_web.client.transport import PeerTransport
from reactor_web.protocol.constants import MAIN_VIDEO_TRACK, STATS_INTERVAL_S

logger = logging.getLogger(__name__)

#: With nothing received on the transport for this long the runtime is taken as gone. A live peer
#: always sends something: RTCP every second or so, and SCTP acknowledges our 5 s ping. Without
#: this, a killed runtime is noticed only when ICE consent expires (~30 s).
DEFAULT_PEER_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class ConnectionTimings:
    """Milliseconds: create + poll session; ICE-server fetch to setRemoteDescription; connect() to ready;
    connect() to the first decoded main-video frame (None until one arrives)."""

    session_creation_ms: float
    transport_connecting_ms: float
    total_ms: float
    first_frame_ms: float | None = None


@dataclass(frozen=True, slots=True)
class ConnectionStats:
    timestamp: int  # ms since the epoch
    rtt: float | None = None  # ms
    candidate_type: str | None = None  # host / srflx / prflx / relay
    available_outgoing_bitrate: float | None = None  # bits/s
    frames_per_second: float | None = None  # main video, as received
    packet_loss_ratio: float | None = None  # 0..1, inbound video
    jitter: float | None = None  # s, inbound video
    inbound_bitrate: float | None = None  # bits/s received on the transport since the last sample
    outbound_bitrate: float | None = None  # bits/s sent on the transport since the last sample
    connection_timings: ConnectionTimings | None = None
    protocol: str | None = None  # the data channels' wire version: "v0" (JSON) or "v1" (protobuf)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class StatsSampler:
    """Builds :class:`ConnectionStats` for one transport; keeps what rates need between samples."""

    def __init__(self) -> None:
        self._last_frames: tuple[TrackFeed, float, int] | None = None
        self._last_bytes: tuple[float, int, int] | None = None  # (monotonic, received, sent)

    async def sample(
        self, transport: PeerTransport, timings: ConnectionTimings | None
    ) -> tuple[ConnectionStats, int | None]:
        """The stats, and the bytes received on the transport so far (None when unknown) for liveness."""
        rtt = jitter = loss = None
        transports: dict[str, tuple[int, int]] = {}
        for entry in (await transport.pc.getStats()).values():
            kind = getattr(entry, "type", None)
            if kind == "remote-inbound-rtp" and getattr(entry, "roundTripTime", None) is not None:
                rtt = entry.roundTripTime * 1000
            elif kind == "inbound-rtp" and getattr(entry, "kind", None) == "video":
                jitter = entry.jitter / VIDEO_CLOCK_RATE  # aiortc reports jitter in RTP clock units
                total = entry.packetsReceived + entry.packetsLost
                if total > 0:
                    loss = entry.packetsLost / total
            elif kind == "transport":
                transports[entry.id] = (entry.bytesReceived, entry.bytesSent)  # one per DTLS transport
        bytes_received = sum(r for r, _ in transports.values()) if transports else None
        inbound = outbound = None
        if transports:
            inbound, outbound = self._bitrates(bytes_received or 0, sum(s for _, s in transports.values()))
        feed = _main_video_feed(transport)
        stats = ConnectionStats(
            timestamp=int(time.time() * 1000),
            rtt=rtt if rtt is not None else _sctp_rtt_ms(transport),
            candidate_type=_candidate_type(transport),
            frames_per_second=self._frame_rate(feed),
            packet_loss_ratio=loss,
            jitter=jitter,
            inbound_bitrate=inbound,
            outbound_bitrate=outbound,
            connection_timings=_with_first_frame(timings, transport, feed),
            protocol=transport.codec.version,
        )
        return stats, bytes_received

    def _bitrates(self, received: int, sent: int) -> tuple[float | None, float | None]:
        now = time.monotonic()
        last, self._last_bytes = self._last_bytes, (now, received, sent)
        if last is None or now <= last[0]:
            return None, None  # a rate needs two samples
        elapsed = now - last[0]
        return (received - last[1]) * 8 / elapsed, (sent - last[2]) * 8 / elapsed

    def _frame_rate(self, feed: TrackFeed | None) -> float | None:
        if feed is None:
            return None
        now, count = time.monotonic(), feed.frames_arrived
        last, self._last_frames = self._last_frames, (feed, now, count)
        # The first sample of a feed measures from when the feed started.
        since, counted = (last[1], last[2]) if last is not None and last[0] is feed else (feed.started_at, 0)
        return (count - counted) / (now - since) if now > since else None


def _with_first_frame(
    timings: ConnectionTimings | None, transport: PeerTransport, feed: TrackFeed | None
) -> ConnectionTimings | None:
    """``timings`` with ``first_frame_ms`` filled in, counted like ``total_ms`` from the connect() call."""
    if timings is None or timings.first_frame_ms is not None or feed is None:
        return timings
    first = feed.first_arrival_at
    if first is None or transport.ready_at is None:
        return timings
    return replace(timings, first_frame_ms=timings.total_ms + (first - transport.ready_at) * 1000)


def _sctp_rtt_ms(transport: PeerTransport) -> float | None:
    """The SCTP association's smoothed RTT (RFC 4960 §6.3.1). aiortc keeps it private; None if that changes."""
    srtt = getattr(transport.pc.sctp, "_srtt", None)
    return srtt * 1000 if isinstance(srtt, float) else None


def _main_video_feed(transport: PeerTransport) -> TrackFeed | None:
    feed = transport.feeds.get(MAIN_VIDEO_TRACK)
    return feed or next((f for f in transport.feeds.values() if f.kind == "video"), None)


def _candidate_type(transport: PeerTransport) -> str | None:
    """Type of our candidate in the nominated pair. aiortc has no public API for the selected pair, so
    this reads aioice's connection; None if those internals change."""
    try:
        connection = transport.pc.sctp.transport.transport._connection  # type: ignore[union-attr]
        pair = next(iter(connection._nominated.values()))
        return str(pair.local_candidate.type)
    except (AttributeError, StopIteration):
        return None


class StatsListener(Protocol):
    """Whom :func:`monitor` asks for the connect's timings and hands each sample."""

    def connection_timings(self) -> ConnectionTimings | None:
        """The connect's timings (None before ready), for each sample."""

    def on_stats(self, stats: ConnectionStats) -> None:
        """A sample, every :data:`~reactor_web.protocol.constants.STATS_INTERVAL_S` seconds."""


async def monitor(transport: PeerTransport, listener: StatsListener, *, peer_timeout_s: float | None) -> float:
    """Hand stats to ``listener`` every 2 s; return how long the transport has been silent once that
    reaches ``peer_timeout_s`` (with None, run until cancelled)."""
    sampler = StatsSampler()
    last_bytes: int | None = None
    last_change = time.monotonic()
    while True:
        await asyncio.sleep(STATS_INTERVAL_S)
        try:
            stats, received = await sampler.sample(transport, listener.connection_timings())
        except Exception:
            logger.debug("getStats failed", exc_info=True)
            continue
        listener.on_stats(stats)
        now = time.monotonic()
        if received is None or received != last_bytes:
            last_bytes, last_change = received, now
        elif peer_timeout_s is not None and now - last_change >= peer_timeout_s:
            return now - last_change
