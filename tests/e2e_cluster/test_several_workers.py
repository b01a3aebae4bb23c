"""Issue 11 items 3-5: the dashboard on two backends (two granian workers each) sharing Redis, behind nginx.

A tab's websocket lands on any worker, and lands again on any worker after a reload or a blip; its session stays on
the worker that opened it and is reached from the others. A backend killed outright hands nothing over: its tabs'
sessions are taken over by the other backend (resumed by id). Sessions are counted at the runtime, which all the
workers share.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import redis
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.cluster_servers import Backend
from tests.e2e.test_blips import BLIP_S, RECORD_STATUS_JS
from tests.e2e.test_reload_and_cycles import FRESH_MEAN_RGB_JS
from tests.e2e_cluster.conftest import deployment

pytestmark = pytest.mark.timeout(600)

READY_TIMEOUT_MS = 60_000
TABS = 4


def runtime_url(redis_url: str) -> str:
    url = redis.Redis.from_url(redis_url, decode_responses=True).get("reactor_web:runtime")
    assert isinstance(url, str), "no shared runtime is recorded in Redis"
    return url


def runtime_sessions(redis_url: str) -> int:
    return int(httpx.get(f"{runtime_url(redis_url)}/health", timeout=5).json()["sessions"])


def runtime_processes() -> list[psutil.Process]:
    """Every embedded runtime on this machine started for a backend (they run with a lease)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "reactor_web.runtime" in cmdline and "--lease" in cmdline:
            found.append(proc)
    return found


def until(predicate, what: str, timeout_s: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"{what}: not within {timeout_s:g} s")


def session_shown(page: Page) -> str:
    return page.locator("#session-id").inner_text(timeout=READY_TIMEOUT_MS)


def expect_ready(page: Page) -> None:
    try:
        expect(page.locator("#status-text")).to_have_text("Status: ready", timeout=READY_TIMEOUT_MS)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\npage error: {page.locator('#error-text').all_text_contents()}") from None


def expect_live_video(page: Page) -> None:
    deadline = time.monotonic() + 30
    rgb = None
    while time.monotonic() < deadline:
        rgb = page.evaluate(FRESH_MEAN_RGB_JS, 5)
        if rgb is not None and sum(rgb) > 60:
            return
    notices = page.locator("#error-text, [data-testid=reactor-view-notice], #status-text").all_text_contents()
    raise AssertionError(f"no live model video in the page: last {rgb}; page says {notices}")


def pongs(page: Page) -> int:
    return page.locator("#messages .message-row", has_text="pong").count()


def expect_pong(page: Page) -> None:
    """Send Command gets exactly one more pong."""
    before = pongs(page)
    page.locator("#send-command-button").click()
    expect(page.locator("#messages .message-row", has_text="pong")).to_have_count(before + 1, timeout=20_000)


@pytest.fixture
def tabs(browser: Browser, cluster: tuple[str, list[Backend]]) -> Iterator[list[Page]]:
    yield from open_tabs(browser, cluster[0])


def open_tabs(browser: Browser, url: str) -> Iterator[list[Page]]:
    contexts: list[BrowserContext] = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(TABS)]
    pages = [context.new_page() for context in contexts]
    for page in pages:
        page.goto(url)
    try:
        yield pages
    finally:
        for context in contexts:
            context.close()


def connect_all(pages: list[Page]) -> list[str]:
    for page in pages:
        page.locator("#webcam-publish").click()  # the model's scene: its pixels prove the model's video
        expect(page.locator("#status-text")).to_have_text("Status: disconnected", timeout=READY_TIMEOUT_MS)
        page.locator("#connect-button").click()
    for page in pages:
        expect_ready(page)
    return [session_shown(page) for page in pages]


def test_four_tabs_on_two_hosts_keep_their_sessions_through_reloads_and_blips(tabs: list[Page], redis_url: str) -> None:
    sessions = connect_all(tabs)
    assert len(set(sessions)) == TABS
    assert runtime_sessions(redis_url) == TABS
    assert len(runtime_processes()) == 1  # one embedded runtime for four workers on two "hosts"
    owners = redis.Redis.from_url(redis_url, decode_responses=True)
    tokens = [page.evaluate("() => window.sessionStorage.getItem('token')") for page in tabs]
    held_by = {owners.hget(f"reactor_web:tab:{token}", "owner") for token in tokens}
    assert None not in held_by and len(held_by) >= 2, f"the tabs' sessions all sit on one worker: {held_by}"

    for n, page in enumerate(tabs):
        expect_pong(page)
        for reload in range(2):  # each reload's websocket lands where nginx sends it: another backend every time
            page.reload()
            expect_ready(page)
            expect_live_video(page)
            assert session_shown(page) == sessions[n], f"tab {n} reload {reload + 1}: another session"
            assert pongs(page) == 1 + reload, "the messages did not survive the reload"
            expect_pong(page)
    assert runtime_sessions(redis_url) == TABS

    page = tabs[0]
    page.evaluate(RECORD_STATUS_JS)
    pongs_before = pongs(page)
    page.context.set_offline(True)
    expect(page.locator("#status-text")).to_have_text("Status: reconnecting", timeout=BLIP_S * 1000)
    page.locator("#send-command-button").click()  # during the blip: delivered once, when the websocket is back
    time.sleep(BLIP_S)  # the input: 3 s offline
    page.context.set_offline(False)
    expect_ready(page)
    expect(page.locator("#messages .message-row", has_text="pong")).to_have_count(pongs_before + 1, timeout=20_000)
    statuses = page.evaluate("() => window.__statuses")
    assert "Status: disconnected" not in statuses, statuses
    assert session_shown(page) == sessions[0] and runtime_sessions(redis_url) == TABS
    expect_pong(page)

    for page in tabs:
        page.context.close()
    until(lambda: runtime_sessions(redis_url) == 0, "the closed tabs' sessions released", timeout_s=15)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "restarted"])
def test_a_killed_or_stopped_backend_s_tabs_come_back_on_the_other_with_their_sessions(
    browser: Browser, redis_url: str, tmp_path: Path, sig: int
) -> None:
    for lb_url, backends in deployment(tmp_path, redis_url):
        for pages in open_tabs(browser, lb_url):
            sessions = connect_all(pages)
            assert runtime_sessions(redis_url) == TABS
            # SIGKILL: its workers hand nothing over. SIGTERM (a rolling deploy): they hand their sessions over.
            backends[0].kill(sig)
            for n, page in enumerate(pages):
                expect_ready(page)
                expect_live_video(page)
                assert session_shown(page) == sessions[n], f"tab {n} lost its session"
                expect_pong(page)
            until(lambda: runtime_sessions(redis_url) == TABS, "exactly one session per open tab")
            assert len(runtime_processes()) == 1
            for page in pages:
                page.context.close()
            until(lambda: runtime_sessions(redis_url) == 0, "the closed tabs' sessions released", timeout_s=15)
