"""Production mode end to end: the dashboard holds an API key, a coordinator (ours, emulating Reactor's)
hands out one GPU, and tabs wait in line, fail clearly and recover."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from reactor_web.runtime.coordinator import CoordinatorProcess
from tests.e2e.test_dashboard import READY_TIMEOUT_MS
from tests.e2e.video import wait_for_video
from tests.prod_server import serve_prod

pytestmark = pytest.mark.timeout(420)

API_KEY = "rk_test_5c1b0d0e-dashboard-key"


@pytest.fixture(scope="module")
def coordinator() -> Iterator[CoordinatorProcess]:
    # One GPU; a key may hold two sessions (one streaming, one in line), so a third gets 429.
    with CoordinatorProcess(gpus=1, api_keys=[API_KEY], max_sessions_per_key=2) as process:
        yield process


@pytest.fixture(scope="module")
def dashboard_url(coordinator: CoordinatorProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {"REACTOR_API_KEY": API_KEY, "REACTOR_API_URL": coordinator.url, "REACTOR_AUTO_RETRY": "1"}
    with serve_prod(tmp_path_factory.mktemp("prod-mode") / "reflex.log", env) as url:
        yield url


def open_tab(browser: Browser, url: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(url)
    page.locator("#webcam-publish").click()  # the model's own scene
    expect(page.locator("#status-text")).to_have_text("Status: disconnected", timeout=READY_TIMEOUT_MS)
    return page


def gpu_workers(coordinator: CoordinatorProcess) -> list[dict]:
    return httpx.get(f"{coordinator.url}/health", timeout=5).json()["workers"]


def test_a_tab_waits_in_line_for_the_gpu_and_a_third_is_told_to_retry(
    browser: Browser, dashboard_url: str, artifacts: Path
) -> None:
    first, second, third = (open_tab(browser, dashboard_url) for _ in range(3))
    try:
        first.locator("#connect-button").click()
        expect(first.locator("#status-text")).to_have_text("Status: ready", timeout=READY_TIMEOUT_MS)
        wait_for_video(first, "rgb[0] + rgb[1] + rgb[2] > 60")

        second.locator("#connect-button").click()
        expect(second.locator("#status-text")).to_have_text("Status: waiting", timeout=READY_TIMEOUT_MS)
        expect(second.locator("#waiting-text")).to_contain_text("Waiting for a GPU · position 1 in line")
        expect(second.locator("#waiting-text")).to_contain_text(" s")  # the time waited, ticking
        second.screenshot(path=str(artifacts / "dashboard-waiting-for-gpu.png"), full_page=True)

        third.locator("#connect-button").click()  # over the key's session limit: 429
        expect(third.locator("#error-text")).to_contain_text("429", timeout=READY_TIMEOUT_MS)
        expect(third.locator("#retry-text")).to_contain_text("Retrying in")
        third.locator("#auto-retry").click()  # stop retrying: this tab gives up its place
        expect(third.locator("#retry-text")).to_have_count(0)

        first.locator("#disconnect-button").click()  # the GPU goes to the tab in line
        expect(first.locator("#status-text")).to_have_text("Status: disconnected", timeout=10_000)
        expect(second.locator("#status-text")).to_have_text("Status: ready", timeout=READY_TIMEOUT_MS)
        wait_for_video(second, "rgb[0] + rgb[1] + rgb[2] > 60")
        second.locator("#disconnect-button").click()
        expect(second.locator("#status-text")).to_have_text("Status: disconnected", timeout=10_000)
    finally:
        for page in (first, second, third):
            page.context.close()


def test_a_killed_gpu_worker_is_reported_and_the_tab_recovers_by_itself(
    browser: Browser, dashboard_url: str, coordinator: CoordinatorProcess, artifacts: Path
) -> None:
    page = open_tab(browser, dashboard_url)
    try:
        page.locator("#connect-button").click()
        expect(page.locator("#status-text")).to_have_text("Status: ready", timeout=READY_TIMEOUT_MS)
        wait_for_video(page, "rgb[0] + rgb[1] + rgb[2] > 60")
        busy = [w for w in gpu_workers(coordinator) if w["state"] == "busy"]
        assert len(busy) == 1, busy
        os.kill(busy[0]["pid"], signal.SIGKILL)  # the GPU machine dies mid-stream

        expect(page.locator("#error-text")).to_contain_text("GPU_CONNECTION_ERROR", timeout=30_000)
        page.screenshot(path=str(artifacts / "dashboard-gpu-lost.png"), full_page=True)
        # Auto-retry connects again; the coordinator restarts the worker; the stream comes back.
        expect(page.locator("#status-text")).to_have_text("Status: ready", timeout=90_000)
        expect(page.locator("#error-text")).to_have_count(0)
        wait_for_video(page, "rgb[0] + rgb[1] + rgb[2] > 60")
        page.locator("#disconnect-button").click()
        expect(page.locator("#status-text")).to_have_text("Status: disconnected", timeout=10_000)
    finally:
        page.context.close()


def test_the_api_key_never_reaches_the_browser(browser: Browser, dashboard_url: str) -> None:
    received: list[str] = []
    page = browser.new_context().new_page()
    page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: received.append(str(frame))))
    page.on("response", lambda response: received.append(_body(response)))
    try:
        page.goto(dashboard_url)
        page.locator("#webcam-publish").click()
        page.locator("#connect-button").click()
        expect(page.locator("#status-text")).to_have_text("Status: ready", timeout=READY_TIMEOUT_MS)
        page.locator("#send-command-button").click()
        expect(page.locator("#messages")).to_contain_text("pong", timeout=10_000)
        received.append(page.content())
        page.locator("#disconnect-button").click()
        expect(page.locator("#status-text")).to_have_text("Status: disconnected", timeout=10_000)
    finally:
        page.context.close()
    assert len(received) > 20, "the test saw too little of what the browser received"
    leaks = [chunk[:200] for chunk in received if API_KEY in chunk]
    assert not leaks, f"the API key reached the browser: {leaks}"


def _body(response) -> str:
    try:
        return response.text()
    except Exception:  # a body Playwright cannot give (redirect, evicted): nothing to scan
        return ""


def test_a_wrong_api_key_says_authentication_failed(
    browser: Browser, coordinator: CoordinatorProcess, tmp_path: Path, artifacts: Path
) -> None:
    env = {"REACTOR_API_KEY": "rk_wrong_key", "REACTOR_API_URL": coordinator.url, "REACTOR_AUTO_RETRY": "1"}
    with serve_prod(tmp_path / "reflex.log", env) as url:
        page = open_tab(browser, url)
        try:
            page.locator("#connect-button").click()
            expect(page.locator("#error-text")).to_contain_text("AUTHENTICATION_FAILED", timeout=READY_TIMEOUT_MS)
            expect(page.locator("#status-text")).to_have_text("Status: disconnected")
            # Not recoverable: no countdown, no retry loop hammering the coordinator with a bad key.
            expect(page.locator("#retry-text")).to_have_count(0)
            expect(page.locator("#retry-button")).to_have_count(0)
            page.screenshot(path=str(artifacts / "dashboard-wrong-api-key.png"), full_page=True)
        finally:
            page.context.close()
