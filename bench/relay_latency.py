"""Relay hop latency: what the browser leg adds, by relay mode and jitter buffer.

A stamped source (the time drawn into the pixels, reactor_web.protocol.stamp) streams over real aiortc
peers on loopback, either straight to a "page" peer (one hop, as if the browser talked to the GPU) or
through the relay (GPU leg → BrowserPeer → page): ``transcode`` decodes the GPU's frames and encodes them
again for the page; ``passthrough`` forwards the GPU's encoded frames as they are (it takes them from our
jitter buffer, so it exists only with the marker-bit buffer). The page reads the stamp from each decoded
frame. Runs alternate between configurations; the table gives medians, p95 and each relay mode's added
latency (median via relay - median direct).

    python bench/relay_latency.py [--seconds 6] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import VideoFrame

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import write_results

from reactor_web._aiortc import PeerOptions, create_peer_connection, negotiated_codec, tap_encoded_frames
from reactor_web._media import ENCODED, MediaHub
from reactor_web.ice import host_addresses_from_env
from reactor_web.protocol.stamp import age_ms, draw_stamp, read_stamp
from reactor_web.relay.peer import BrowserPeer, RelayOffer, RelayTrack

RESOLUTIONS = [(640, 360), (1280, 720)]
#: Issue 14: the relay adds at most this much latency (median) with encoded passthrough.
TARGET_PASSTHROUGH_ADDS_MS = 2.0


class StampedSource(MediaStreamTrack):
    """A 30 fps moving picture with the send time drawn into each frame."""

    kind = "video"

    def __init__(self, width: int, height: int, fps: int = 30) -> None:
        super().__init__()
        self.width, self.height, self.fps, self.count = width, height, fps, 0
        x = np.linspace(0, 255, width, dtype=np.float32)
        self.base = np.repeat(np.tile(x, (height, 1))[..., None], 3, axis=2).astype(np.uint8)
        self.start = time.monotonic()

    async def recv(self) -> VideoFrame:
        self.count += 1
        await asyncio.sleep(max(0.0, self.start + self.count / self.fps - time.monotonic()))
        image = np.roll(self.base, self.count * 4, axis=1)
        draw_stamp(image)
        frame = VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = self.count * 90_000 // self.fps, Fraction(1, 90_000)
        return frame


async def link(sender: RTCPeerConnection, receiver: RTCPeerConnection) -> None:
    await sender.setLocalDescription(await sender.createOffer())
    await receiver.setRemoteDescription(sender.localDescription)
    await receiver.setLocalDescription(await receiver.createAnswer())
    await sender.setRemoteDescription(receiver.localDescription)


async def measure(track: MediaStreamTrack, seconds: float, warmup: int = 30) -> list[int]:
    ages: list[int] = []
    deadline = time.monotonic() + seconds
    seen = 0
    try:
        while time.monotonic() < deadline:
            frame = await asyncio.wait_for(track.recv(), 5)
            stamp = read_stamp(frame.to_ndarray(format="rgb24"))
            seen += 1
            if stamp is not None and seen > warmup:
                ages.append(age_ms(stamp))
    except (MediaStreamError, TimeoutError):
        pass
    return ages


async def run_direct(width: int, height: int, seconds: float, options: PeerOptions) -> list[int]:
    model, page = create_peer_connection(None, options), create_peer_connection(None, options)
    model.addTrack(StampedSource(width, height))
    got: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()
    page.on("track", lambda t: got.done() or got.set_result(t))
    try:
        await link(model, page)
        return await measure(await asyncio.wait_for(got, 10), seconds)
    finally:
        await model.close()
        await page.close()


async def run_relayed(width: int, height: int, seconds: float, options: PeerOptions, mode: str) -> list[int]:
    model, backend, page = (create_peer_connection(None, options) for _ in range(3))
    relay = BrowserPeer(peer_options=options, heartbeat_timeout_s=3600)  # this page does not beat
    model.addTrack(StampedSource(width, height))
    gpu_track: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()
    backend.on("track", lambda t: gpu_track.done() or gpu_track.set_result(t))
    # Transceivers before the data channel, as every bundled aiortc offerer must (see _aiortc.py).
    page_model = page.addTransceiver("video", direction="recvonly")
    page.addTransceiver("video", direction="sendonly")
    page.createDataChannel("relay")
    page_track: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()
    page.on("track", lambda t: page_track.done() or page_track.set_result(t))
    try:
        await link(model, backend)
        pixels = await asyncio.wait_for(gpu_track, 10)
        if mode == "passthrough":  # as the client does it: the encoded frames, never decoded here
            backend_video = next(t for t in backend.getTransceivers() if t.receiver.track is pixels)
            encoded = MediaHub("video", ENCODED, name="gpu", codec=negotiated_codec(backend_video))
            tap_encoded_frames(backend_video, encoded, lambda: False)
            relay.set_source("main_video", "video", None, encoded)
        else:
            relay.set_source("main_video", "video", pixels, None)
        await page.setLocalDescription(await page.createOffer())
        offer = RelayOffer(
            page.localDescription.sdp, (RelayTrack("main_video", "video", "recvonly", str(page_model.mid)),)
        )
        answer = await relay.accept_offer(offer)
        await page.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        assert relay.relay_mode == mode, f"asked for {mode}, the relay chose {relay.relay_mode}"
        return await measure(await asyncio.wait_for(page_track, 10), seconds)
    finally:
        await relay.close()
        for pc in (model, backend, page):
            await pc.close()


def summary(ages: list[int]) -> dict[str, float]:
    if not ages:
        return {"n": 0, "median": float("nan"), "p95": float("nan")}
    ordered = sorted(ages)
    return {"n": len(ages), "median": statistics.median(ordered), "p95": ordered[int(0.95 * (len(ordered) - 1))]}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    addresses = host_addresses_from_env()
    samples: dict[tuple[str, str, str], list[int]] = {}
    configurations = [("stock", "direct"), ("stock", "transcode")] + [
        ("marker-bit", path) for path in ("direct", "transcode", "passthrough")
    ]
    for width, height in RESOLUTIONS:
        res = f"{width}x{height}"
        for _ in range(args.rounds):  # alternate configurations so drift on a noisy machine hits all alike
            for buffer, path in configurations:
                options = PeerOptions(low_latency_jitter_buffer=buffer == "marker-bit", host_addresses=addresses)
                if path == "direct":
                    ages = await run_direct(width, height, args.seconds, options)
                else:
                    ages = await run_relayed(width, height, args.seconds, options, path)
                samples.setdefault((res, buffer, path), []).extend(ages)

    rows = []
    print(
        f"{'resolution':<10} {'jitter buffer':<13} {'direct med/p95 ms':>18} {'transcode med/p95':>18} "
        f"{'adds':>6} {'passthrough med/p95':>20} {'adds':>6}"
    )
    for width, height in RESOLUTIONS:
        res = f"{width}x{height}"
        for buffer in ("stock", "marker-bit"):
            d = summary(samples[(res, buffer, "direct")])
            t = summary(samples[(res, buffer, "transcode")])
            p = summary(samples.get((res, buffer, "passthrough"), []))
            row = {
                "resolution": res,
                "jitter_buffer": buffer,
                "direct": d,
                "transcode": t,
                "transcode_adds_ms": t["median"] - d["median"],
                "passthrough": p,
                "passthrough_adds_ms": p["median"] - d["median"],
            }
            rows.append(row)
            print(
                f"{res:<10} {buffer:<13} {d['median']:>9.1f} / {d['p95']:<6.1f} {t['median']:>9.1f} / {t['p95']:<6.1f}"
                f" {row['transcode_adds_ms']:>6.1f} {p['median']:>10.1f} / {p['p95']:<7.1f}"
                f" {row['passthrough_adds_ms']:>6.1f}"
            )
    print(f"\ntarget: passthrough adds <= {TARGET_PASSTHROUGH_ADDS_MS:g} ms median (marker-bit buffer)")
    for row in rows:
        if row["jitter_buffer"] == "marker-bit":
            row["passes"] = bool(row["passthrough_adds_ms"] <= TARGET_PASSTHROUGH_ADDS_MS)
            print(f"  {row['resolution']}: {row['passthrough_adds_ms']:.1f} ms {'PASS' if row['passes'] else 'FAIL'}")
    write_results("relay_latency", vars(args), rows)  # with the machine facts, as every result file


if __name__ == "__main__":
    asyncio.run(main())
