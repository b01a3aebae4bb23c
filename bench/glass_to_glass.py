"""Glass to glass: a frame stamped at the model until the dashboard page presents it.

Our runtime draws the wall-clock time into every frame it renders (``REACTOR_RUNTIME_STAMP_FRAMES=1``,
``reactor_web.protocol.stamp``). The frame travels runtime → (WebRTC) → backend client → relay →
(WebRTC) → Chromium, and the page reads the stamp back from each presented frame of its ``<video>``
(``bench/page_probe.js``: requestVideoFrameCallback, a canvas, the same decoding as ``read_stamp``),
against ``Date.now()`` on the same machine clock. The dashboard is the production build (``reflex run
--env prod``) pointed at a runtime we restart at each resolution; rounds alternate resolutions.

The relay hop alone (what the backend's browser leg adds) comes from ``bench/relay_latency.py``, run
here with the same ``--seconds``/``--rounds`` unless ``--relay reuse`` (its last JSON) or ``skip``.

``--compare A,B,...`` measures several browser-side configurations (:data:`VARIANTS`) side by side in one
run: one tab each (one Chromium per distinct set of flags), taken in turn at every resolution of every
round (the order reversed every other round), so that a busy machine weighs on each alike. For the watched
view's receiver the table also shows where Chromium spent the time per frame (WebRTC ``getStats``).

    python bench/glass_to_glass.py [--seconds 10] [--rounds 3] [--relay run|reuse|skip]
                                   [--resolutions 360p,720p] [--compare default,no-playout-delay]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dashboard import (
    RESOLUTIONS,
    connect,
    disconnect,
    launch_browser,
    open_dashboard,
    served_dashboard,
    take_probe,
)
from harness import RESULTS, ROOT, LocalRuntime, fmt, print_table, summary, verdict, write_results
from playwright.sync_api import Browser, sync_playwright
from relay_latency import TARGET_PASSTHROUGH_ADDS_MS

from reactor_web._playout import PLAYOUT_DELAY_URI

WARMUP_S = 2.0  # the first seconds after ready include the keyframe and the bitrate ramp
#: Per-frame timings of the watched receiver (``page_probe.js`` ``watched``), in table order.
BREAKDOWN = ["jitterBufferMs", "decodeMs", "processingMs"]


@dataclass(frozen=True)
class Variant:
    """A browser-side configuration: Chromium's flags and the page probe's options (``page_probe.js``)."""

    about: str
    browser_args: tuple[str, ...] = ()
    probe: dict[str, Any] = field(default_factory=dict)


VARIANTS = {
    "default": Variant("the product as shipped"),
    "no-playout-delay": Variant(
        "the page does not offer the playout-delay RTP header extension, so the relay sends none (the browser "
        "chooses its own playout delay)",
        probe={"withoutHeaderExtensions": [PLAYOUT_DELAY_URI]},
    ),
    "force-playout-zero": Variant(
        "Chromium forced to playout delay 0/0 whatever the sender says (a field trial)",
        browser_args=("--force-fieldtrials=WebRTC-ForcePlayoutDelay/min_ms:0,max_ms:0/",),
    ),
    "jitter-target-0": Variant("the page sets RTCRtpReceiver.jitterBufferTarget = 0", probe={"jitterBufferTarget": 0}),
}


def measure_glass_to_glass(
    url: str, runtime: LocalRuntime, seconds: float, rounds: int, variants: list[str], resolutions: list[str]
) -> dict[tuple[str, str], dict[str, list[Any]]]:
    """Samples by (resolution, variant): stamp ages at the frame callback, due on screen and at receipt, the
    page's share, presented fps, and Chromium's per-frame timings (:data:`BREAKDOWN`)."""
    samples: dict[tuple[str, str], dict[str, list[Any]]] = {
        (res, name): {"ages": [], "display": [], "received": [], "in_page": [], "fps": [], **{k: [] for k in BREAKDOWN}}
        for res in resolutions
        for name in variants
    }
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browsers: dict[tuple[str, ...], Browser] = {}
        pages = {}
        for name in variants:
            variant = VARIANTS[name]
            if variant.browser_args not in browsers:
                browsers[variant.browser_args] = launch_browser(playwright, Path(tmp), list(variant.browser_args))
            pages[name] = open_dashboard(browsers[variant.browser_args], url, variant.probe)
        for round_index in range(rounds):
            order = variants if round_index % 2 == 0 else variants[::-1]
            for res in resolutions:  # alternate resolutions every round, and variants within each
                runtime.start(*RESOLUTIONS[res])
                for name in order:
                    page = pages[name]
                    connect(page)
                    time.sleep(WARMUP_S)
                    take_probe(page)
                    time.sleep(seconds)
                    probe = take_probe(page)
                    disconnect(page)
                    into = samples[res, name]
                    into["ages"] += probe["ages"]
                    into["display"] += probe["displayAges"]
                    into["received"] += probe["receivedAges"]
                    into["in_page"] += probe["inPage"]
                    fps = probe["frames"] / probe["seconds"]
                    into["fps"].append(fps)
                    for key in BREAKDOWN:
                        into[key].append((probe["watched"] or {}).get(key))
                    print(f"  {res} {name}: {len(probe['ages'])} stamped frames, {probe['unreadable']} unreadable, "
                          f"{fps:.1f} fps presented, median {fmt(summary(probe['ages'])['median'])} ms")  # fmt: skip
        for browser in browsers.values():
            browser.close()
    return samples


def relay_rows(mode: str, seconds: float, rounds: int) -> list[dict[str, Any]]:
    path = RESULTS / "relay_latency.json"
    if mode == "skip":
        return []
    if mode == "run":
        cmd = [sys.executable, str(ROOT / "bench" / "relay_latency.py"), "--seconds", str(seconds)]
        subprocess.run([*cmd, "--rounds", str(rounds)], check=True)
    if not path.exists():
        print("no bench/results/relay_latency.json: run bench/relay_latency.py")
        return []
    return json.loads(path.read_text())["results"]


def main() -> None:
    variants_help = "; ".join(f"{name}: {v.about}" for name, v in VARIANTS.items())
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per round and resolution")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--relay", choices=["run", "reuse", "skip"], default="run")
    parser.add_argument("--resolutions", default=",".join(RESOLUTIONS), help=f"of {', '.join(RESOLUTIONS)}")
    parser.add_argument("--compare", default="default", help=f"comma-separated variants ({variants_help})")
    parser.add_argument("--log", type=Path, default=Path("/tmp/bench-dashboard.log"))
    args = parser.parse_args()
    variants, resolutions = args.compare.split(","), args.resolutions.split(",")
    for name, known in [*((v, VARIANTS) for v in variants), *((r, RESOLUTIONS) for r in resolutions)]:
        if name not in known:
            parser.error(f"unknown {name!r}: choose from {', '.join(known)}")

    runtime = LocalRuntime(args.log.with_name("bench-runtime.log"))
    runtime.start(*RESOLUTIONS[resolutions[0]])
    try:
        with served_dashboard(runtime.url, args.log) as url:
            samples = measure_glass_to_glass(url, runtime, args.seconds, args.rounds, variants, resolutions)
    finally:
        runtime.stop()

    rows = []
    table = []
    for res in resolutions:
        width, height = RESOLUTIONS[res]
        baseline = summary(samples[res, variants[0]]["ages"])["median"]
        for name in variants:
            got = samples[res, name]
            ages, display, fps = summary(got["ages"]), summary(got["display"]), summary(got["fps"])
            received, in_page = summary(got["received"]), summary(got["in_page"])
            breakdown = {key: summary(got[key])["median"] for key in BREAKDOWN}
            rows.append({"resolution": f"{width}x{height}", "variant": name, "age_at_callback_ms": ages,
                         "age_at_display_ms": display, "age_at_receive_ms": received, "in_page_ms": in_page,
                         "presented_fps": fps, "per_frame_ms": breakdown})  # fmt: skip
            # Not the due-on-screen ages: with playout delay 0 Chromium gives frames no render time, and
            # expectedDisplayTime then means nothing (they stay in the JSON).
            table.append([f"{width}x{height}", name, ages["n"], fmt(ages["median"]), fmt(ages["median"] - baseline),
                          fmt(ages["p95"]), fmt(received["median"]), fmt(in_page["median"]), fmt(in_page["p95"]),
                          fmt(fps["median"]), *(fmt(breakdown[key]) for key in BREAKDOWN)])  # fmt: skip
    print("\nglass to glass (model stamp → frame presented in the page)")
    print_table(["resolution", "variant", "frames", "median ms", f"vs {variants[0]}", "p95 ms", "to page med",
                 "in page med", "p95", "fps", "jitter buf", "decode", "1st packet→decoded"], table)  # fmt: skip
    print("(to page: stamp → the frame's last packet received by the page's WebRTC (rVFC receiveTime); in page: from"
          " there to the frame callback; jitter buf, decode, 1st packet→decoded: Chromium's getStats for the watched"
          " view, ms per frame, median of the rounds)")  # fmt: skip

    relay = relay_rows(args.relay, args.seconds, args.rounds)
    if relay:
        print("\nrelay hop alone (bench/relay_latency.py, marker-bit jitter buffer: what the product uses)")
        relay_table = []
        for row in relay:
            if row["jitter_buffer"] != "marker-bit":
                continue
            adds = row["passthrough_adds_ms"]
            relay_table.append([row["resolution"], fmt(row["direct"]["median"]), fmt(row["transcode_adds_ms"]),
                                fmt(row["passthrough"]["median"]), fmt(row["passthrough"]["p95"]), fmt(adds),
                                f"<= {TARGET_PASSTHROUGH_ADDS_MS:g}",
                                verdict(adds <= TARGET_PASSTHROUGH_ADDS_MS)])  # fmt: skip
        print_table(["resolution", "direct med", "transcode adds", "passthrough med", "p95", "passthrough adds",
                     "target", ""], relay_table)  # fmt: skip
    write_results("glass_to_glass", vars(args), {"glass_to_glass": rows, "relay_latency": relay})


if __name__ == "__main__":
    main()
