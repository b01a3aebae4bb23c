"""Connection statistics every 2 s while connected (Part A §9), as snake_case dataclasses.

aiortc's ``getStats()`` is thinner than a browser's: it has no ``candidate-pair`` entries and no
``framesPerSecond``. So ``frames_per_second`` is measured from frames the client actually received on
the main video track, ``rtt`` comes from ``remote-inbound-rtp`` (RTCP from the runtime about what we
send: only while a track is published), ``candidate_type`` from the nominated ICE pair, and
``available_outgoing_bitrate`` stays None (aiortc does not estimate it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from reactor_web.client.tracks import TrackFeed
from reactor_web.client.transport import PeerTransport
from reactor_web.protocol.constants import MAIN_VIDEO_TRACK, STATS_INTERVAL_S

logger = logging.getLogger(__name__)

#: With nothing received on the transport for this long the runtime is taken as gone. A live peer
#: always sends something: RTCP every second or so, and SCTP acknowledges our 5 s ping. Without
#: this, a killed runtime is noticed only when ICE consent expires (~30 s).
DEFAULT_PEER_TIMEOUT_S = 15.0
#: RTP clock of every video codec aiortc speaks; aiortc reports jitter in clock units.
_VIDEO_CLOCK_RATE = 90_000


@dataclass(frozen=True, slots=True)
class ConnectionTimings:
    """Milliseconds: create + poll session; ICE-server fetch to setRemoteDescription; connect() to ready."""

    session_creation_ms: float
    transport_connecting_ms: float
    total_ms: float


@dataclass(frozen=True, slots=True)
class ConnectionStats:
    timestamp: int  # ms since the epoch
    rtt: float | None = None  # ms
    candidate_type: str | None = None  # host / srflx / prflx / relay
    available_outgoing_bitrate: float | None = None  # bits/s
    frames_per_second: float | None = None  # main video, as received
    packet_loss_ratio: float | None = None  # 0..1, inbound video
    jitter: float | None = None  # s, inbound video
    connection_timings: ConnectionTimings | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class StatsSampler:
    """Builds :class:`ConnectionStats` for one transport; keeps what rates need between samples."""

    def __init__(self) -> None:
        self._last_frames: tuple[TrackFeed, float, int] | None = None

    async def sample(
        self, transport: PeerTransport, timings: ConnectionTimings | None
    ) -> tuple[ConnectionStats, int | None]:
        """The stats, and the bytes received on the transport so far (None when unknown) for liveness."""
        rtt = jitter = loss = None
        bytes_received: int | None = None
        for entry in (await transport.pc.getStats()).values():
            kind = getattr(entry, "type", None)
            if kind == "remote-inbound-rtp" and getattr(entry, "roundTripTime", None) is not None:
                rtt = entry.roundTripTime * 1000
            elif kind == "inbound-rtp" and getattr(entry, "kind", None) == "video":
                jitter = entry.jitter / _VIDEO_CLOCK_RATE
                total = entry.packetsReceived + entry.packetsLost
                if total > 0:
                    loss = entry.packetsLost / total
            elif kind == "transport":
                bytes_received = max(bytes_received or 0, entry.bytesReceived)
        stats = ConnectionStats(
            timestamp=int(time.time() * 1000),
            rtt=rtt,
            candidate_type=_candidate_type(transport),
            frames_per_second=self._frame_rate(_main_video_feed(transport)),
            packet_loss_ratio=loss,
            jitter=jitter,
            connection_timings=timings,
        )
        return stats, bytes_received

    def _frame_rate(self, feed: TrackFeed | None) -> float | None:
        if feed is None:
            return None
        now, count = time.monotonic(), feed.frames_received
        last, self._last_frames = self._last_frames, (feed, now, count)
        # The first sample of a feed measures from when the feed started.
        since, counted = (last[1], last[2]) if last is not None and last[0] is feed else (feed.started_at, 0)
        return (count - counted) / (now - since) if now > since else None


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


async def monitor(
    transport: PeerTransport,
    *,
    timings: Callable[[], ConnectionTimings | None],
    on_stats: Callable[[ConnectionStats], None],
    peer_timeout_s: float | None,
) -> float:
    """Hand stats to ``on_stats`` every 2 s; return how long the transport has been silent once that
    reaches ``peer_timeout_s`` (with None, run until cancelled)."""
    sampler = StatsSampler()
    last_bytes: int | None = None
    last_change = time.monotonic()
    while True:
        await asyncio.sleep(STATS_INTERVAL_S)
        try:
            stats, received = await sampler.sample(transport, timings())
        except Exception:
            logger.debug("getStats failed", exc_info=True)
            continue
        on_stats(stats)
        now = time.monotonic()
        if received is None or received != last_bytes:
            last_bytes, last_change = received, now
        elif peer_timeout_s is not None and now - last_change >= peer_timeout_s:
            return now - last_change
