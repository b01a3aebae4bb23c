"""Glass to glass: a frame stamped at the model until the dashboard page presents it.

Our runtime draws the wall-clock time into every frame it renders (``REACTOR_RUNTIME_STAMP_FRAMES=1``,
``reactor_web.protocol.stamp``). The frame travels runtime → (WebRTC) → backend client → relay →
(WebRTC) → Chromium, and the page reads the stamp back from each presented frame of its ``<video>``
(``bench/page_probe.js``: requestVideoFrameCallback, a canvas, the same decoding as ``read_stamp``),
against ``Date.now()`` on the same machine clock. The dashboard is the production build (``reflex run
--env prod``) pointed at a runtime we restart at each resolution; rounds alternate resolutions.

The relay hop alone (what the backend's browser leg adds) comes from ``bench/relay_latency.py``, run
here with the same ``--seconds``/``--rounds`` unless ``--relay reuse`` (its last JSON) or ``skip``.

    python bench/glass_to_glass.py [--seconds 10] [--rounds 3] [--relay run|reuse|skip]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
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
from playwright.sync_api import sync_playwright
from relay_latency import TARGET_PASSTHROUGH_ADDS_MS

#: The relay's added median latency must stay under these (issue 7).
WARMUP_S = 2.0  # the first seconds after ready include the keyframe and the bitrate ramp


def measure_glass_to_glass(url: str, runtime: LocalRuntime, seconds: float, rounds: int) -> dict[str, Any]:
    samples: dict[str, dict[str, list[Any]]] = {res: {"ages": [], "display": [], "fps": []} for res in RESOLUTIONS}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = launch_browser(playwright, Path(tmp))
        page = open_dashboard(browser, url)
        for _ in range(rounds):
            for res, (width, height) in RESOLUTIONS.items():  # alternate resolutions every round
                runtime.start(width, height)
                connect(page)
                time.sleep(WARMUP_S)
                take_probe(page)
                time.sleep(seconds)
                probe = take_probe(page)
                disconnect(page)
                samples[res]["ages"] += probe["ages"]
                samples[res]["display"] += probe["displayAges"]
                samples[res]["fps"].append(probe["frames"] / probe["seconds"])
                print(f"  {res}: {len(probe['ages'])} stamped frames, {probe['unreadable']} unreadable, "
                      f"{probe['frames'] / probe['seconds']:.1f} fps presented")  # fmt: skip
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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per round and resolution")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--relay", choices=["run", "reuse", "skip"], default="run")
    parser.add_argument("--log", type=Path, default=Path("/tmp/bench-dashboard.log"))
    args = parser.parse_args()

    runtime = LocalRuntime(args.log.with_name("bench-runtime.log"))
    runtime.start(*RESOLUTIONS["360p"])
    try:
        with served_dashboard(runtime.url, args.log) as url:
            samples = measure_glass_to_glass(url, runtime, args.seconds, args.rounds)
    finally:
        runtime.stop()

    rows = []
    table = []
    for res, (width, height) in RESOLUTIONS.items():
        ages, display, fps = (
            summary(samples[res]["ages"]),
            summary(samples[res]["display"]),
            summary(samples[res]["fps"]),
        )
        rows.append({"resolution": f"{width}x{height}", "age_at_callback_ms": ages, "age_at_display_ms": display,
                     "presented_fps": fps})  # fmt: skip
        table.append([f"{width}x{height}", ages["n"], fmt(ages["median"]), fmt(ages["p95"]), fmt(display["median"]),
                      fmt(display["p95"]), fmt(fps["median"])])  # fmt: skip
    print("\nglass to glass (model stamp → frame presented in the page)")
    print_table(["resolution", "frames", "median ms", "p95 ms", "due on screen med", "p95", "fps"], table)

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
