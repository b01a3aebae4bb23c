"""One backend worker versus several (Reflex + Redis): click Connect → first model frame, and command round trip.

Three deployments of the production dashboard, each against the same runtime (360p), in one run:

* ``1 worker``: `reflex run --env prod`, no Redis (the default);
* ``3 workers + Redis``: the same with ``REFLEX_REDIS_URL`` and three granian workers, whose websockets the
  kernel spreads (a tab's events may or may not land on the worker holding its session);
* ``2 backends, forwarded``: two backends behind nginx sharing Redis, a tab whose websocket is on the backend
  that does *not* hold its session (checked in Redis), so that every event takes the cross-worker path
  (forwarded over Redis pub/sub, state updates routed back by Reflex's token manager).

Each reports later clicks' click → first frame (Disconnect → Connect in the same tab) and the Send Command →
pong round trip, as ``click_to_video.py`` and ``command_rtt.py`` measure them.

    python bench/workers.py [--clicks 5] [--pings 20]
"""

from __future__ import annotations

import argparse
import contextlib
import pickle
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis
from click_to_video import CLICK_PROBE_JS, click_and_time
from command_rtt import click_round_trips
from dashboard import RESOLUTIONS, disconnect, launch_browser, open_dashboard, served_dashboard
from harness import LocalRuntime, fmt, print_table, summary, write_results
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.cluster_servers import redis_server, serve_backends

READY_TIMEOUT_MS = 60_000


def measure(page: Page, clicks: int, pings: int) -> dict[str, list[float]]:
    page.evaluate(CLICK_PROBE_JS)
    frames = []
    for _ in range(clicks):
        frames.append(click_and_time(page)["frame_ms"])
        disconnect(page)
    page.locator("#connect-button").click()
    expect(page.locator("#status-text")).to_have_text("Status: ready", timeout=READY_TIMEOUT_MS)
    rtts = click_round_trips(page, pings)
    disconnect(page)
    return {"frame_ms": frames, "rtt_ms": rtts}


def forwarded(page: Page, redis_url: str) -> bool:
    """Whether the page's websocket is on another worker than the one holding its session (read in Redis)."""
    token = page.evaluate("() => window.sessionStorage.getItem('token')")
    db = redis.Redis.from_url(redis_url)
    owner = db.hget(f"reactor_web:tab:{token}", "owner")
    record = db.get(f"token_manager_socket_record_{token}")
    if owner is None or record is None:
        return False
    # The record is Reflex's own pickle (its token manager wrote it).
    socket_worker = db.get(f"reactor_web:reflex:{pickle.loads(record).instance_id}")
    return socket_worker is not None and socket_worker != owner


@contextlib.contextmanager
def deployment(kind: str, runtime_url: str, tmp: Path) -> Iterator[tuple[str, str | None]]:
    env = {"REACTOR_RUNTIME_URL": runtime_url}
    for folder in ("redis3", "redis2", "backends"):
        (tmp / folder).mkdir(exist_ok=True)
    if kind == "1 worker":
        with served_dashboard(runtime_url, tmp / "reflex-1.log") as url:
            yield url, None
    elif kind == "3 workers + Redis":
        with redis_server(tmp / "redis3") as redis_url:
            env |= {"REFLEX_REDIS_URL": redis_url, "GRANIAN_WORKERS": "3"}
            with served_dashboard(runtime_url, tmp / "reflex-3.log", env) as url:
                yield url, redis_url
    else:
        with redis_server(tmp / "redis2") as redis_url:
            env |= {"GRANIAN_WORKERS": "1"}
            with serve_backends(tmp / "backends", 2, redis_url, env=env) as (url, _backends):
                yield url, redis_url


def forwarded_tab(browser: Browser, url: str, redis_url: str) -> Page:
    """A connected-once tab whose websocket sits on the backend that does not hold its session."""
    page = open_dashboard(browser, url)
    page.locator("#connect-button").click()
    expect(page.locator("#status-text")).to_have_text("Status: ready", timeout=READY_TIMEOUT_MS)
    for _ in range(6):  # nginx alternates websockets between the two backends
        if forwarded(page, redis_url):
            disconnect(page)
            return page
        page.reload()
        expect(page.locator("#status-text")).to_have_text("Status: ready", timeout=READY_TIMEOUT_MS)
    raise RuntimeError("no reload put the tab's websocket on the other backend")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clicks", type=int, default=5, help="Connect clicks per deployment")
    parser.add_argument("--pings", type=int, default=20, help="Send Command clicks per deployment")
    args = parser.parse_args()
    kinds = ["1 worker", "3 workers + Redis", "2 backends, forwarded"]
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        runtime = LocalRuntime(tmp / "runtime.log")
        runtime.start(*RESOLUTIONS["360p"])
        try:
            for kind in kinds:
                with deployment(kind, runtime.url, tmp) as (url, redis_url), sync_playwright() as playwright:
                    browser = launch_browser(playwright, tmp)
                    try:
                        if redis_url is not None and kind.startswith("2 backends"):
                            page = forwarded_tab(browser, url, redis_url)
                        else:
                            page = open_dashboard(browser, url)
                        samples = measure(page, args.clicks, args.pings)
                        if redis_url is not None and kind.startswith("2 backends"):
                            assert forwarded(page, redis_url), "the tab's events were not forwarded"
                    finally:
                        browser.close()
                results[kind] = {k: summary(v) for k, v in samples.items()} | {"samples": samples}
                print(f"  {kind}: done")
        finally:
            runtime.stop()
    base = results[kinds[0]]
    table = []
    for kind in kinds:
        r = results[kind]
        table.append([kind, fmt(r["frame_ms"]["median"]), fmt(r["frame_ms"]["p95"]), fmt(r["rtt_ms"]["median"]),
                      fmt(r["rtt_ms"]["p95"]), fmt(r["rtt_ms"]["median"] - base["rtt_ms"]["median"])])  # fmt: skip
    print("\nclick Connect → first model frame (later clicks) and Send Command → pong, ms")
    print_table(["deployment", "frame med", "frame p95", "rtt med", "rtt p95", "rtt vs 1 worker"], table)
    write_results("workers", vars(args), results)


if __name__ == "__main__":
    main()
