"""The dashboard, as a user sees it: connect, live video, commands, camera, disconnect."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from reactor_web.ui.embedded import runtime_url
from tests.e2e.video import wait_for_video

READY_TIMEOUT_MS = 30_000


def connect(page: Page) -> None:
    expect(page.locator("#status-text")).to_have_text("Status: disconnected", timeout=READY_TIMEOUT_MS)
    page.locator("#connect-button").click()
    try:
        expect(page.locator("#status-text")).to_have_text("Status: ready", timeout=READY_TIMEOUT_MS)
    except AssertionError as exc:  # say what the page says went wrong
        raise AssertionError(f"{exc}\npage error: {page.locator('#error-text').all_text_contents()}") from None


def runtime_sessions() -> int:
    return httpx.get(f"{runtime_url()}/health", timeout=5).json()["sessions"]


def test_connect_stream_command_and_disconnect(page: Page, artifacts) -> None:
    page.locator("#webcam-publish").click()  # the scene, not the camera, for this test
    connect(page)
    rgb = wait_for_video(page, "rgb[0] + rgb[1] + rgb[2] > 60")
    assert sum(rgb) > 60, f"video is black: {rgb}"
    page.screenshot(path=str(artifacts / "dashboard-connected.png"), full_page=True)

    page.locator("#send-command-button").click()
    expect(page.locator("#messages")).to_contain_text("pong", timeout=10_000)

    slider = page.locator("#brightness-slider [role=slider]")
    slider.focus()
    slider.press("Home")  # brightness 0
    dark = wait_for_video(page, "rgb[0] + rgb[1] + rgb[2] < 15")
    assert sum(dark) < 15

    page.locator("#disconnect-button").click()
    expect(page.locator("#status-text")).to_have_text("Status: disconnected", timeout=10_000)
    expect(page.locator("#reactor-view")).to_contain_text("disconnected")
    # The client stops the runtime session before it reports "disconnected".
    assert runtime_sessions() == 0, "the runtime still holds the session after Disconnect"


def test_published_camera_colours_the_output(page: Page) -> None:
    expect(page.locator("#webcam [data-testid=webcam-preview]")).to_be_visible(timeout=10_000)
    connect(page)
    # The fake camera is red: the model transforms it, so red dominates the output.
    rgb = wait_for_video(page, "rgb[0] > 120 && rgb[0] > rgb[1] * 2 && rgb[0] > rgb[2] * 2")
    assert rgb[0] > rgb[1] * 2
    # Chromium encodes the camera in VP8, the GPU leg's codec: it goes on as Chromium encoded it, and the
    # model's video comes back the same way.
    expect(page.get_by_test_id("browser-camera-relay-mode")).to_have_text("passthrough")
    expect(page.get_by_test_id("browser-relay-mode")).to_have_text("passthrough")
    page.locator("#disconnect-button").click()
    expect(page.locator("#status-text")).to_have_text("Status: disconnected", timeout=10_000)
