"""How the dashboard fails: clearly, and in a way a user can recover from."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from reactor_web.ui.embedded import embedded_runtime
from tests.e2e.test_dashboard import READY_TIMEOUT_MS, connect, runtime_sessions
from tests.e2e.video import wait_for_video


def test_runtime_killed_mid_stream_shows_the_error_and_a_new_connect_works(page: Page, artifacts) -> None:
    runtime = embedded_runtime()
    assert runtime is not None, "the dashboard did not start its embedded runtime"
    page.locator("#webcam-publish").click()
    connect(page)
    wait_for_video(page, "rgb[0] + rgb[1] + rgb[2] > 60")

    runtime.kill()  # the GPU machine dies mid-stream
    expect(page.locator("#error-text")).to_contain_text("GPU_CONNECTION_ERROR", timeout=20_000)
    expect(page.locator("#status-text")).to_have_text("Status: disconnected")
    page.screenshot(path=str(artifacts / "dashboard-error.png"), full_page=True)

    runtime.start()  # back on the same address
    page.locator("#connect-button").click()
    expect(page.locator("#status-text")).to_have_text("Status: ready", timeout=READY_TIMEOUT_MS)
    expect(page.locator("#error-text")).to_have_count(0)
    wait_for_video(page, "rgb[0] + rgb[1] + rgb[2] > 60")
    page.locator("#disconnect-button").click()
    expect(page.locator("#status-text")).to_have_text("Status: disconnected", timeout=10_000)
    assert runtime_sessions() == 0
