"""Click Connect → the model's first frame presented in the page, first click after start and later clicks.

Measured in the page: a capture-phase click listener on ``#connect-button`` takes ``performance.now()`` when
the click is dispatched; a MutationObserver takes it again when ``#status-text`` first reads ``ready``; and
``requestVideoFrameCallback`` on the view's ``<video>`` when the page presents its first frame after the
click (the view shows its video only once the relay's frames are live). The path: page → (Reflex websocket)
→ backend event → client connect (session, SDP, ICE, DTLS, data channel) → runtime → the GPU's first
keyframe → relay (passthrough) → Chromium decodes and presents; and the status delta back over the websocket.

"First click" is the first Connect of a tab right after the dashboard and the runtime started (each round
starts both anew); "later clicks" are Disconnect → Connect again in that tab. The dashboard is the
production build on our runtime (360p).

    python bench/click_to_video.py [--rounds 2] [--clicks 10]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from dashboard import RESOLUTIONS, disconnect, launch_browser, open_dashboard, served_dashboard
from harness import LocalRuntime, fmt, print_table, summary, verdict, write_results
from playwright.sync_api import Page, sync_playwright

#: Issue 14: click → first model frame presented, medians.
TARGET_FIRST_CLICK_MS = 400.0
TARGET_LATER_CLICKS_MS = 200.0
WAIT_MS = 30_000

CLICK_PROBE_JS = """
() => {
  if (window.__c2v) return;
  const s = (window.__c2v = { clickAt: null, readyAt: null, frameAt: null });
  document.addEventListener('click', (event) => {
    if (!event.target.closest('#connect-button')) return;
    Object.assign(s, { clickAt: performance.now(), readyAt: null, frameAt: null });
  }, true);
  new MutationObserver(() => {
    const text = document.querySelector('#status-text')?.textContent || '';
    if (s.clickAt !== null && s.readyAt === null && text.includes('ready')) s.readyAt = performance.now();
  }).observe(document.body, { childList: true, subtree: true, characterData: true });
  const watched = new WeakSet();
  setInterval(() => {
    for (const video of document.querySelectorAll('#reactor-view video')) {
      if (watched.has(video) || !('requestVideoFrameCallback' in video)) continue;
      watched.add(video);
      const onFrame = (now) => {
        if (s.clickAt !== null && s.frameAt === null && now > s.clickAt) s.frameAt = performance.now();
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    }
  }, 20);
}
"""


def click_and_time(page: Page) -> dict[str, float]:
    """One Connect click: ms from the click to ``ready`` shown and to the first presented frame."""
    page.locator("#connect-button").click()
    page.wait_for_function("() => window.__c2v.frameAt !== null && window.__c2v.readyAt !== null", timeout=WAIT_MS)
    s = page.evaluate("() => window.__c2v")
    return {"ready_ms": s["readyAt"] - s["clickAt"], "frame_ms": s["frameAt"] - s["clickAt"]}


def one_round(workdir: Path, clicks: int, log: Path) -> dict[str, list[dict[str, float]]]:
    runtime = LocalRuntime(log.with_name("bench-runtime.log"))
    runtime.start(*RESOLUTIONS["360p"])
    try:
        with served_dashboard(runtime.url, log) as url, sync_playwright() as playwright:
            browser = launch_browser(playwright, workdir)
            try:
                page = open_dashboard(browser, url)
                page.evaluate(CLICK_PROBE_JS)
                first = [click_and_time(page)]
                later = []
                for _ in range(clicks):
                    disconnect(page)
                    later.append(click_and_time(page))
                disconnect(page)
            finally:
                browser.close()
    finally:
        runtime.stop()
    print(f"  first click {first[0]['frame_ms']:.0f} ms; later clicks median "
          f"{summary(c['frame_ms'] for c in later)['median']:.0f} ms")  # fmt: skip
    return {"first": first, "later": later}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2, help="dashboard + runtime starts (one first click each)")
    parser.add_argument("--clicks", type=int, default=10, help="later clicks per round")
    parser.add_argument("--log", type=Path, default=Path("/tmp/bench-dashboard.log"))
    args = parser.parse_args()

    samples: dict[str, list[dict[str, float]]] = {"first": [], "later": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for kind, runs in one_round(Path(tmp), args.clicks, args.log).items():
                samples[kind].extend(runs)

    rows: list[dict[str, Any]] = []
    table = []
    for kind, target in (("first", TARGET_FIRST_CLICK_MS), ("later", TARGET_LATER_CLICKS_MS)):
        ready = summary(c["ready_ms"] for c in samples[kind])
        frame = summary(c["frame_ms"] for c in samples[kind])
        ok = frame["median"] <= target
        rows.append({"clicks": kind, "ready_shown_ms": ready, "first_frame_ms": frame, "target_ms": target,
                     "passes": ok})  # fmt: skip
        table.append([f"{kind} click" + ("s" if kind == "later" else ""), frame["n"], fmt(ready["median"]),
                      fmt(frame["median"]), fmt(frame["p95"]), f"<= {target:g}", verdict(ok)])  # fmt: skip
    print("\nclick Connect → ready shown / first model frame presented in the page, ms")
    print_table(["", "n", "ready med", "frame med", "frame p95", "target", ""], table)
    write_results("click_to_video", vars(args), {"rows": rows, "samples": samples})


if __name__ == "__main__":
    main()
