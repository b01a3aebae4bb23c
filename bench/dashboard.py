"""The dashboard as deployed, a runtime we start ourselves, and Chromium pages driving it, for the benchmarks.

The dashboard runs as `reflex run --env prod` (``tests/prod_server.serve_prod``) pointed at a runtime
we start (``REACTOR_RUNTIME_URL``, ``harness.LocalRuntime``), so that we choose the runtime's
resolution, can restart it at another resolution on the same port between rounds, and can measure the
backend and the runtime as separate processes.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
from harness import ROOT, loopback_media, with_descendants
from playwright.sync_api import Browser, Page, Playwright, expect

from tests.browser import CHROMIUM, CHROMIUM_ARGS, write_y4m
from tests.prod_server import serve_prod

READY_TIMEOUT_MS = 30_000
#: Counts presented frames and reads their stamps in the page (window.__bench.take()).
PAGE_PROBE_JS = (Path(__file__).with_name("page_probe.js")).read_text()
RESOLUTIONS = {"360p": (640, 360), "720p": (1280, 720)}


def backend_processes(port: int) -> list[psutil.Process]:
    """The process that serves the dashboard's port and its children: the Reflex backend, which holds the
    tabs' Reactor clients and relays (the runtime is ours, started apart)."""
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return with_descendants(psutil.Process(conn.pid))
    raise RuntimeError(f"no process listens on port {port}")


def browser_processes() -> list[psutil.Process]:
    """Chromium's processes (children of Playwright's driver, which is our child)."""
    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if "chrom" in proc.name().lower():
                found.append(proc)
        except psutil.NoSuchProcess:
            pass
    return found


def pin(processes: list[psutil.Process], cpus: list[int]) -> None:
    """Restrict every thread of ``processes`` to ``cpus`` (as ``taskset -a`` would).

    Linux affinity is per thread, and a process's affinity call reaches its main thread only; threads
    started later inherit it from the thread that starts them.
    """
    for proc in processes:
        try:
            for thread in proc.threads():
                os.sched_setaffinity(thread.id, cpus)
        except (psutil.NoSuchProcess, ProcessLookupError):
            pass


@contextlib.contextmanager
def served_dashboard(runtime_url: str, log: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """The production dashboard (built on first use: minutes on a busy machine) using ``runtime_url``."""
    loopback_media()
    full_env = {"REACTOR_RUNTIME_URL": runtime_url, "REACTOR_ICE_HOST_ADDRESSES": "127.0.0.1", **(env or {})}
    old_cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with serve_prod(log, full_env) as url:
            yield url
    finally:
        os.chdir(old_cwd)


def launch_browser(playwright: Playwright, workdir: Path, extra_args: list[str] | None = None) -> Browser:
    """Debian's Chromium, headless, with a fake camera (the dashboard's camera publish is switched off)."""
    clip = workdir / "camera.y4m"
    write_y4m(clip, (220, 30, 30))
    args = [*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={clip}"]
    # Background tabs would be throttled (timers, rendering): every benchmark tab must run at full rate.
    args += ["--disable-background-timer-throttling", "--disable-renderer-backgrounding",
             "--disable-backgrounding-occluded-windows", *(extra_args or [])]  # fmt: skip
    return playwright.chromium.launch(executable_path=CHROMIUM, args=args)


def open_dashboard(browser: Browser, url: str, probe_options: dict[str, Any] | None = None) -> Page:
    """A new tab on the dashboard, camera publishing off (the model renders its own scene); ``probe_options``
    become the page probe's ``window.__benchOptions`` (see ``page_probe.js``)."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    if probe_options:
        page.add_init_script(f"window.__benchOptions = {json.dumps(probe_options)};")  # before the probe reads it
    page.add_init_script(PAGE_PROBE_JS)
    page.goto(url)
    expect(page.locator("#status-text")).to_have_text("Status: disconnected", timeout=READY_TIMEOUT_MS)
    page.locator("#webcam-publish").click()
    return page


def connect(page: Page) -> None:
    page.locator("#connect-button").click()
    expect(page.locator("#status-text")).to_have_text("Status: ready", timeout=READY_TIMEOUT_MS)


def disconnect(page: Page) -> None:
    page.locator("#disconnect-button").click()
    expect(page.locator("#status-text")).to_have_text("Status: disconnected", timeout=READY_TIMEOUT_MS)


def take_probe(page: Page) -> dict[str, Any]:
    """What the page probe collected since the last call: presented frames, stamp ages, seconds."""
    return page.evaluate("window.__bench.take()")


def close_page(page: Page) -> None:
    page.context.close()
