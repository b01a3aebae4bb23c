"""Connection stats and stamped frames, measured on real loopback WebRTC between the client and the runtime."""

from __future__ import annotations

import json

from client_helpers import HEIGHT, WIDTH, connected, frame_where

from reactor_web.protocol.stamp import age_ms, read_stamp
from reactor_web.runtime.config import RuntimeConfig
from reactor_web.runtime.serve import serve_runtime

FPS = 30


async def test_stats_measure_the_gpu_leg() -> None:
    async with serve_runtime(RuntimeConfig(port=0, width=WIDTH, height=HEIGHT, fps=FPS)) as url:
        reactor, recorder = await connected(url)
        try:
            # Rates need two samples; the first one's frame rate also counts the wait for the first frame.
            stats = (await recorder.wait("stats_update", lambda s: s.inbound_bitrate is not None))[0]
        finally:
            await reactor.aclose()
    assert stats.frames_per_second is not None and 0.6 * FPS <= stats.frames_per_second <= 1.2 * FPS
    assert stats.rtt is not None and 0 < stats.rtt < 100  # ms, on loopback
    assert stats.jitter is not None and 0 <= stats.jitter < 0.1  # s
    assert stats.packet_loss_ratio is not None and stats.packet_loss_ratio < 0.05
    assert stats.inbound_bitrate > 50_000 and stats.outbound_bitrate is not None and stats.outbound_bitrate > 0
    assert stats.candidate_type == "host"
    timings = stats.connection_timings
    assert timings is not None and timings.first_frame_ms is not None
    assert 0 < timings.session_creation_ms < timings.total_ms
    assert 0 < timings.transport_connecting_ms < timings.total_ms
    assert timings.session_creation_ms + timings.transport_connecting_ms <= timings.total_ms
    assert timings.session_creation_ms < timings.first_frame_ms < timings.total_ms + 5000
    assert json.loads(json.dumps(stats.to_dict()))["connection_timings"]["first_frame_ms"] == timings.first_frame_ms


async def test_stamped_frames_read_back_close_to_now() -> None:
    async with serve_runtime(RuntimeConfig(port=0, width=640, height=360, fps=FPS, stamp_frames=True)) as url:
        reactor, _ = await connected(url)
        try:
            track = reactor.tracks["main_video"]
            stamps = [read_stamp(await frame_where(track, lambda _rgb: True)) for _ in range(5)]
        finally:
            await reactor.aclose()
    assert None not in stamps
    assert all(age_ms(stamp) < 1500 for stamp in stamps)  # generation → encode → loopback → decode
    assert len(set(stamps)) == len(stamps)  # each frame carries its own render time
