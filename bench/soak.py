"""Soak: connect / stream / disconnect cycles from several tabs for minutes; does anything stay behind?

The production dashboard on our runtime (360p), ``--tabs`` Chromium tabs. Each cycle connects every
tab, streams ``--stream-seconds``, and disconnects every tab; every ``--replace-every``-th cycle one tab
is instead closed without disconnecting (as a user closing it) and replaced by a new one, which the
backend must notice through the relay heartbeat (``REACTOR_HEARTBEAT_TIMEOUT_S``, 3 s here).

Watched, from outside the backend process (it is ``reflex run --env prod``):
* backend and runtime RSS after ``--warmup-cycles`` cycles, half-way and at the end, sampled every cycle.
  RSS climbs for the first minutes and then levels off, so the verdict (growth < 10%) is on the second
  half of the soak (with its trend in MB per minute, least squares); the whole-run growth is shown too;
* at the end, after the heartbeat grace period: runtime sessions (``/health``), and the backend's open
  peer connections, counted as its UDP sockets (every aiortc peer holds one per ICE host address, and
  media is on 127.0.0.1 only, so nothing else of the backend uses UDP), threads and file descriptors.

    python bench/soak.py [--minutes 10] [--tabs 3] [--stream-seconds 5] [--replace-every 3] [--malloc-arena-max 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from dashboard import (
    RESOLUTIONS,
    backend_processes,
    close_page,
    connect,
    disconnect,
    launch_browser,
    open_dashboard,
    served_dashboard,
    take_probe,
)
from harness import LocalRuntime, fmt, print_table, runtime_sessions, verdict, wait_until, write_results
from playwright.sync_api import Browser, Page, sync_playwright

TARGET_GROWTH = 0.10
#: The dashboard runs with REACTOR_HEARTBEAT_TIMEOUT_S=3 (tests/prod_server.py); allow ICE and teardown too.
RELEASE_GRACE_S = 15.0


def backend_resources(port: int) -> dict[str, Any]:
    """RSS (MB), UDP sockets (open peer connections), threads and fds of the backend processes."""
    out = {"rss_mb": 0.0, "udp_sockets": 0, "threads": 0, "fds": 0}
    for proc in backend_processes(port):
        try:
            out["rss_mb"] += proc.memory_info().rss / 2**20
            out["udp_sockets"] += len(proc.net_connections(kind="udp"))
            out["threads"] += proc.num_threads()
            out["fds"] += proc.num_fds()
        except psutil.NoSuchProcess:
            pass
    return out


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per minute."""
    if len(points) < 2:
        return float("nan")
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    return 60 * sum((t - mean_t) * (v - mean_v) for t, v in points) / var if var else float("nan")


def cycle(browser: Browser, url: str, pages: list[Page], stream_s: float, replace: bool) -> list[float]:
    """One connect / stream / disconnect cycle; returns each tab's decoded fps while streaming."""
    for page in pages:
        connect(page)
    for page in pages:
        take_probe(page)
    time.sleep(stream_s)
    fps = [(p := take_probe(page))["webrtc"]["framesDecoded"] / p["seconds"] for page in pages]
    for i, page in enumerate(pages):
        if replace and i == 0:
            close_page(page)  # no disconnect: the backend has to notice the dead tab itself
            pages[i] = open_dashboard(browser, url)
        else:
            disconnect(page)
    return fps


def print_sample(s: dict[str, Any]) -> None:
    print(f"  cycle {s['cycle']:>3} t={s['t_s']:6.0f}s backend RSS {s['rss_mb']:.0f} MB, UDP {s['udp_sockets']}, "
          f"threads {s['threads']}; runtime RSS {s['runtime_rss_mb']:.0f} MB; min fps {s['min_fps']:.1f}")  # fmt: skip


def soak(url: str, runtime: LocalRuntime, args: argparse.Namespace, workdir: Path) -> tuple[list[Any], dict[str, Any]]:
    """The cycles, then what is left once everything should have been released: (samples, end)."""
    port = int(url.rsplit(":", 1)[1])
    samples: list[dict[str, Any]] = []
    with sync_playwright() as playwright:
        browser = launch_browser(playwright, workdir)
        pages = [open_dashboard(browser, url) for _ in range(args.tabs)]
        for _ in range(args.warmup_cycles):  # codecs, thread pools and allocator arenas reach their working size
            cycle(browser, url, pages, args.stream_seconds, replace=False)
        started = time.monotonic()
        deadline = started + args.minutes * 60
        while time.monotonic() < deadline or not samples:
            n = len(samples) + 1
            fps = cycle(browser, url, pages, args.stream_seconds, replace=n % args.replace_every == 0)
            runtime_rss = runtime.psutil_process.memory_info().rss / 2**20
            samples.append({"t_s": time.monotonic() - started, "cycle": n, "min_fps": min(fps),
                            "runtime_rss_mb": runtime_rss, **backend_resources(port)})  # fmt: skip
            print_sample(samples[-1])
        for page in pages:
            close_page(page)
        browser.close()
    # Everything should now be released: disconnected tabs at once, closed ones after the heartbeat timeout.
    try:
        wait_until(lambda: runtime_sessions(runtime.url) == 0, RELEASE_GRACE_S, "runtime sessions 0")
        wait_until(lambda: backend_resources(port)["udp_sockets"] == 0, RELEASE_GRACE_S, "no backend UDP sockets")
    except TimeoutError as exc:
        print(f"  not released: {exc}")
    end = {**backend_resources(port), "runtime_rss_mb": runtime.psutil_process.memory_info().rss / 2**20,
           "runtime_sessions": runtime_sessions(runtime.url)}  # fmt: skip
    return samples, end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--tabs", type=int, default=3)
    parser.add_argument("--stream-seconds", type=float, default=5.0)
    parser.add_argument("--replace-every", type=int, default=3, help="close one tab undisconnected every N cycles")
    parser.add_argument("--malloc-arena-max", type=int, help="run the backend and runtime with MALLOC_ARENA_MAX")
    parser.add_argument("--warmup-cycles", type=int, default=3, help="cycles before the memory baseline")
    parser.add_argument("--log", type=Path, default=Path("/tmp/bench-dashboard.log"))
    args = parser.parse_args()

    # glibc keeps freed memory in per-thread arenas (aiortc and PyAV decode and encode in threads): RSS then
    # measures the allocator's high-water mark more than live memory. MALLOC_ARENA_MAX bounds the arenas.
    env = {"MALLOC_ARENA_MAX": str(args.malloc_arena_max)} if args.malloc_arena_max else {}
    log = args.log.with_name("bench-runtime.log")
    runtime = LocalRuntime(log, stamp=False, max_sessions=args.tabs * 2, env=env)
    runtime.start(*RESOLUTIONS["360p"])
    try:
        with served_dashboard(runtime.url, args.log, env) as url, tempfile.TemporaryDirectory() as tmp:
            samples, end = soak(url, runtime, args, Path(tmp))
    finally:
        runtime.stop()

    first, half = samples[0], samples[len(samples) // 2]
    rows, table = {}, []
    for name, key in (("backend", "rss_mb"), ("runtime", "runtime_rss_mb")):
        growth = (end[key] - first[key]) / first[key]
        # RSS climbs for a few minutes before it levels off (allocator arenas, codec buffers): a leak keeps
        # climbing in the second half too, so that half decides.
        late_growth = (end[key] - half[key]) / half[key]
        late_slope = slope_per_minute([(s["t_s"], s[key]) for s in samples[len(samples) // 2 :]])
        ok = late_growth < TARGET_GROWTH
        rows[name] = {"start_mb": first[key], "half_time_mb": half[key], "end_mb": end[key], "growth": growth,
                      "second_half_growth": late_growth, "second_half_mb_per_min": late_slope, "ok": ok}  # fmt: skip
        table.append([f"{name} RSS", fmt(first[key]), fmt(half[key]), fmt(end[key]), f"{100 * growth:+.1f}%",
                      f"{100 * late_growth:+.1f}%", fmt(late_slope, 2), verdict(ok)])  # fmt: skip
    print(f"\nsoak: {len(samples)} cycles of {args.tabs} tabs in {samples[-1]['t_s'] / 60:.1f} min")
    headers = ["", "start MB", "half-time MB", "end MB", "growth", "2nd half", "2nd half MB/min"]
    print_table([*headers, f"2nd half < {100 * TARGET_GROWTH:g}%"], table)
    left = {"runtime sessions": end["runtime_sessions"], "backend UDP sockets (peers)": end["udp_sockets"]}
    left_table = [[k, v, "0", verdict(v == 0)] for k, v in left.items()]
    left_table += [["backend threads", end["threads"], f"(start {first['threads']})", ""],
                   ["backend fds", end["fds"], f"(start {first['fds']})", ""]]  # fmt: skip
    print_table(["left open at the end", "count", "target", ""], left_table)
    write_results("soak", vars(args), {"memory": rows, "end": end, "samples": samples})


if __name__ == "__main__":
    main()
