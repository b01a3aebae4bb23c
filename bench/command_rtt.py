"""Command round trip as the user sees it: click Send Command (``ping``) → the ``pong`` shows under Messages.

Measured in the page: a capture-phase click listener on ``#send-command-button`` takes
``performance.now()`` when the click is dispatched, and a MutationObserver on ``#messages`` takes it
again when the newest message row first reads as a new ``pong`` (each pong carries the model's
timestamp, so its text is new even when the list is full and rows are reused). The path: page →
(Reflex websocket) → backend event → client data channel → runtime model → data channel → backend
state → (websocket) → React render. Clicks are one at a time; the dashboard is the production build
on our runtime (360p).

    python bench/command_rtt.py [--clicks 50] [--rounds 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from dashboard import RESOLUTIONS, connect, disconnect, launch_browser, open_dashboard, served_dashboard
from harness import LocalRuntime, fmt, print_table, summary, verdict, write_results
from playwright.sync_api import Page, sync_playwright

TARGET_MEDIAN_MS = 50.0
CLICK_TIMEOUT_MS = 10_000
#: Pause between clicks, so one pong's render never overlaps the next click.
GAP_S = 0.1

# Installs window.__rtt: clicked() arms a measurement at the click's dispatch; the observer finishes it.
RTT_PROBE_JS = """
() => {
  if (window.__rtt) return;
  // Delegated and re-queried: the button is re-created each time the status becomes ready again.
  const newest = () => {
    const rows = document.querySelectorAll('#messages .message-row');
    return rows.length ? rows[rows.length - 1].textContent : '';
  };
  const rtt = (window.__rtt = { pending: null, before: '', results: [] });
  document.addEventListener('click', (event) => {
    if (!event.target.closest('#send-command-button')) return;
    rtt.before = newest();
    rtt.pending = performance.now();
  }, true);
  new MutationObserver(() => {
    if (rtt.pending === null) return;
    const text = newest();
    if (text !== rtt.before && text.includes('pong')) {
      rtt.results.push(performance.now() - rtt.pending);
      rtt.pending = null;
    }
  }).observe(document.querySelector('#messages'), { childList: true, subtree: true, characterData: true });
}
"""


def click_round_trips(page: Page, clicks: int) -> list[float]:
    page.evaluate(RTT_PROBE_JS)
    for i in range(clicks):
        page.locator("#send-command-button").click()
        page.wait_for_function(f"window.__rtt.results.length > {i}", timeout=CLICK_TIMEOUT_MS, polling=10)
        time.sleep(GAP_S)
    return page.evaluate("window.__rtt.results.splice(0)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clicks", type=int, default=50, help="counted clicks per round")
    parser.add_argument("--rounds", type=int, default=1, help="connect, click, disconnect this many times")
    parser.add_argument("--log", type=Path, default=Path("/tmp/bench-dashboard.log"))
    args = parser.parse_args()

    runtime = LocalRuntime(args.log.with_name("bench-runtime.log"), stamp=False)
    runtime.start(*RESOLUTIONS["360p"])
    rounds: list[list[float]] = []
    try:
        with served_dashboard(runtime.url, args.log) as url, tempfile.TemporaryDirectory() as tmp:
            with sync_playwright() as playwright:
                browser = launch_browser(playwright, Path(tmp))
                page = open_dashboard(browser, url)
                for _ in range(args.rounds):
                    connect(page)
                    click_round_trips(page, 3)  # warm-up: first websocket events, first data-channel sends
                    rounds.append(click_round_trips(page, args.clicks))
                    disconnect(page)
                browser.close()
    finally:
        runtime.stop()

    all_ms = summary(ms for r in rounds for ms in r)
    per_round = [summary(r) for r in rounds]
    ok = all_ms["median"] <= TARGET_MEDIAN_MS
    table: list[list[Any]] = [
        [f"round {i + 1}", s["n"], fmt(s["median"]), fmt(s["p95"]), fmt(s["max"]), ""] for i, s in enumerate(per_round)
    ]
    table.append(["all", all_ms["n"], fmt(all_ms["median"]), fmt(all_ms["p95"]), fmt(all_ms["max"]), verdict(ok)])
    print("\nclick Send Command (ping) → pong rendered under Messages, ms")
    print_table(["", "clicks", "median", "p95", "max", f"median <= {TARGET_MEDIAN_MS:g}"], table)
    write_results("command_rtt", vars(args), {"all": all_ms, "rounds": per_round, "samples_ms": rounds})


if __name__ == "__main__":
    main()
