"""Click Connect → the model's first frame shown in the page, first click after start and later clicks, and
where that time goes (the dashboard's own breakdown, from its stats panel).

Measured in the page: a capture-phase click listener on ``#connect-button`` takes ``Date.now()`` when the click
is dispatched (as the button's event does); a MutationObserver takes it again when ``#status-text`` first reads
``ready`` and when the view (``#reactor-view``) first shows its video (``data-live="true"``: what the user
sees); ``requestVideoFrameCallback`` on the view's ``<video>`` when the page presents its first frame after the
click, shown or not ("presented"). The path: page → (Reflex websocket) → backend event → client connect
(session, SDP, ICE, DTLS, data channel) → runtime → the GPU's first keyframe → relay (passthrough) → Chromium
decodes, presents and the view shows it; and the status delta back over the websocket.

After each click the stats panel's connection timings (``ReactorState.connect_breakdown``, the product's own
account: ``reactor_web/relay/timeline.py``) are read once complete; the table gives each stage's median.

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

#: Issue 14: click → first model frame shown, medians.
TARGET_FIRST_CLICK_MS = 400.0
TARGET_LATER_CLICKS_MS = 200.0
WAIT_MS = 30_000
#: The stats panel's breakdown rows (test id ``timing-<stage>``), in order; the first eight add up to the total.
STAGES = (
    ("click-to-backend-ms", "click → backend (websocket, event)"),
    ("handler-ms", "backend handler"),
    ("session-creation-ms", "session creation"),
    ("transport-connecting-ms", "transport connecting (offer, answer)"),
    ("ice-dtls-ms", "ICE, DTLS, data channel"),
    ("first-keyframe-ms", "ready → first frame at the backend"),
    ("relay-ms", "relay"),
    ("page-frame-ms", "relay → frame shown in the page"),
    ("click-to-frame-ms", "= click → first frame shown"),
    ("ready-shown-ms", "ready → shown in the page (state update)"),
    ("clock-error-ms", "page ⇄ backend clock error (at most)"),
)

CLICK_PROBE_JS = """
() => {
  if (window.__c2v) return;
  const s = (window.__c2v = { clickAt: null, readyAt: null, frameAt: null, shownAt: null });
  document.addEventListener('click', (event) => {
    if (!event.target.closest('#connect-button')) return;
    Object.assign(s, { clickAt: Date.now(), readyAt: null, frameAt: null, shownAt: null });
  }, true);
  new MutationObserver(() => {
    if (s.clickAt === null) return;
    const text = document.querySelector('#status-text')?.textContent || '';
    if (s.readyAt === null && text.includes('ready')) s.readyAt = Date.now();
    if (s.shownAt === null && document.querySelector('#reactor-view')?.dataset.live === 'true') s.shownAt = Date.now();
  }).observe(document.body, { childList: true, subtree: true, characterData: true, attributes: true });
  const watched = new WeakSet();
  setInterval(() => {
    for (const video of document.querySelectorAll('#reactor-view video')) {
      if (watched.has(video) || !('requestVideoFrameCallback' in video)) continue;
      watched.add(video);
      const onFrame = () => {
        if (s.clickAt !== null && s.frameAt === null) s.frameAt = Date.now();
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    }
  }, 20);
}
"""

BREAKDOWN_JS = """
(stages) => {
  const out = {};
  for (const id of stages) {
    const text = document.querySelector(`[data-testid="timing-${id}"]`)?.textContent || '';
    out[id] = text.endsWith(' ms') ? parseFloat(text) : null;
  }
  return out;
}
"""


def click_and_time(page: Page) -> dict[str, float]:
    """One Connect click: ms from the click to ``ready`` shown, the first presented frame and the first frame
    shown, and the dashboard's own breakdown of it (``stage:<id>``)."""
    page.locator("#connect-button").click()
    page.wait_for_function(
        "() => [window.__c2v.frameAt, window.__c2v.readyAt, window.__c2v.shownAt].every((v) => v !== null)",
        timeout=WAIT_MS,
    )
    s = page.evaluate("() => window.__c2v")
    # The breakdown completes with the client's next stats sample (every 2 s).
    ids = [stage for stage, _ in STAGES]
    complete = f"(ids) => Object.values(({BREAKDOWN_JS})(ids)).every((v) => v !== null)"
    page.wait_for_function(complete, arg=ids, timeout=WAIT_MS)
    breakdown = page.evaluate(BREAKDOWN_JS, ids)
    return {
        "ready_ms": s["readyAt"] - s["clickAt"],
        "presented_ms": s["frameAt"] - s["clickAt"],
        "frame_ms": s["shownAt"] - s["clickAt"],
        **{f"stage:{k}": v for k, v in breakdown.items()},
    }


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
        presented = summary(c["presented_ms"] for c in samples[kind])
        frame = summary(c["frame_ms"] for c in samples[kind])
        ok = frame["median"] <= target
        rows.append({"clicks": kind, "ready_shown_ms": ready, "first_frame_presented_ms": presented,
                     "first_frame_shown_ms": frame, "target_ms": target, "passes": ok})  # fmt: skip
        table.append([f"{kind} click" + ("s" if kind == "later" else ""), frame["n"], fmt(ready["median"]),
                      fmt(presented["median"]), fmt(frame["median"]), fmt(frame["p95"]), f"<= {target:g}",
                      verdict(ok)])  # fmt: skip
    print("\nclick Connect → ready shown / first model frame presented / first frame shown in the page, ms")
    print_table(["", "n", "ready med", "presented med", "shown med", "shown p95", "target", ""], table)

    breakdown = []
    for stage, label in STAGES:
        first = summary(c[f"stage:{stage}"] for c in samples["first"])
        later = summary(c[f"stage:{stage}"] for c in samples["later"])
        breakdown.append([label, fmt(first["median"]), fmt(later["median"]), fmt(later["p95"])])
    print("\nwhere the time goes (the dashboard's connection timings), ms")
    print_table(["stage", "first med", "later med", "later p95"], breakdown)
    write_results("click_to_video", vars(args), {"rows": rows, "samples": samples})


if __name__ == "__main__":
    main()
