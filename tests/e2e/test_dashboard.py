"""The dashboard, as a user sees it: connect, live video, commands, camera, disconnect."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from reactor_web.ui.embedded import runtime_url
from tests.e2e.video import MEAN_RGB_JS, wait_for_video

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


#: Records, the moment the view next starts showing video, the mean RGB of the picture it shows.
FIRST_SHOWN_JS = f"""
() => {{
  const view = document.querySelector('#reactor-view');
  window.__firstShown = null;
  const observer = new MutationObserver(() => {{
    if (view.dataset.live !== 'true' || window.__firstShown !== null) return;
    window.__firstShown = ({MEAN_RGB_JS})() || 'no picture';
    observer.disconnect();
  }});
  observer.observe(view, {{ attributes: true, attributeFilter: ['data-live'] }});
}}
"""


#: A user quick on the button: Connect is clicked the moment the page says "disconnected".
CONNECT_WHEN_DISCONNECTED_JS = """
() => {
  const observer = new MutationObserver(() => {
    const button = document.querySelector('#connect-button');
    if (!button || !document.querySelector('#status-text')?.textContent.includes('disconnected')) return;
    observer.disconnect();
    button.click();
  });
  observer.observe(document.body, { subtree: true, childList: true, characterData: true });
}
"""


@pytest.mark.usefixtures("disconnect_after")
def test_a_quick_reconnect_shows_the_new_sessions_picture_not_the_last_one(page: Page) -> None:
    """Connect again right after Disconnect: the view must not show the old session's last frame as the new one's
    (its frames were live a moment before), but the new session's first."""
    page.locator("#webcam-publish").click()  # the scene, not the camera
    connect(page)
    wait_for_video(page, "rgb[0] + rgb[1] + rgb[2] > 60")
    slider = page.locator("#brightness-slider [role=slider]")
    slider.focus()
    slider.press("Home")  # this session goes dark; a new one starts at the model's default brightness
    wait_for_video(page, "rgb[0] + rgb[1] + rgb[2] < 15")
    page.evaluate(FIRST_SHOWN_JS)
    page.evaluate(CONNECT_WHEN_DISCONNECTED_JS)
    page.locator("#disconnect-button").click()
    expect(page.locator("#status-text")).to_have_text("Status: ready", timeout=READY_TIMEOUT_MS)
    page.wait_for_function("() => window.__firstShown !== null", timeout=READY_TIMEOUT_MS)
    first = page.evaluate("() => window.__firstShown")
    assert first != "no picture" and sum(first) > 60, f"the view first showed {first}: the old session's dark frame"


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
