"""A tab whose JavaScript froze (a background tab the browser froze) and came back.

Issue 12 item 7: the backend releases the frozen tab after the heartbeat timeout (right), but the page
said "disconnected" with no reason, and an immediate Connect showed "ready" over the last frozen frame
until the page's old relay failed 12.5 s later. Now the backend says goodbye with its reason on the relay
channel, the page shows it and re-offers at once, and the view shows video only while frames arrive.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from reactor_web.relay.registry import tabs
from tests.e2e.tab_lookup import page_token
from tests.e2e.test_dashboard import READY_TIMEOUT_MS, connect, runtime_sessions
from tests.e2e.test_refusals import page_tab
from tests.e2e.video import wait_for_video

#: The issue's input: the page's JavaScript stays paused this long.
FREEZE_S = 12.0

# A 32x18 grey thumbnail of the view's video, or null while it has no frame.
THUMB_JS = """
() => {
  const video = document.querySelector('#reactor-view video');
  if (!video || video.readyState < 2 || video.videoWidth === 0) return null;
  const canvas = document.createElement('canvas');
  canvas.width = 32; canvas.height = 18;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(video, 0, 0, 32, 18);
  const d = ctx.getImageData(0, 0, 32, 18).data;
  const out = [];
  for (let i = 0; i < d.length; i += 4) out.push(d[i] + d[i + 1] + d[i + 2]);
  return out;
}
"""


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll state another thread owns (the backend's tabs, the runtime's sessions): there is no event to await."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not {what} within {timeout_s:g} s")
        time.sleep(0.1)


def expect_video_moving(page: Page) -> None:
    """The view's pixels change between two reads: live video, not a still frame."""
    first = page.wait_for_function(THUMB_JS, timeout=10_000, polling=100).json_value()
    page.wait_for_function(
        f"(first) => {{ const now = ({THUMB_JS})(); return now && now.some((v, i) => Math.abs(v - first[i]) > 6); }}",
        arg=first,
        timeout=10_000,
        polling=100,
    )


def test_a_frozen_tab_is_told_why_its_relay_went_and_shows_ready_only_with_live_video(page: Page) -> None:
    page.locator("#webcam-publish").click()  # the model's animated scene, not the still camera colour
    connect(page)
    wait_for_video(page, "rgb[0] + rgb[1] + rgb[2] > 60")
    expect(page.locator("#reactor-view")).to_have_attribute("data-live", "true")
    frozen_tab = page_tab(page)

    cdp = page.context.new_cdp_session(page)
    cdp.send("Debugger.enable")
    cdp.send("Debugger.pause")
    paused_at = time.monotonic()
    # The backend notices the silent page and releases its GPU session and relay.
    wait_until(lambda: frozen_tab.closed and runtime_sessions() == 0, FREEZE_S, "the frozen tab released")
    time.sleep(max(0.0, FREEZE_S - (time.monotonic() - paused_at)))  # the rest of the 12 s freeze
    cdp.send("Debugger.resume")

    # At once: why, in the error line and in the view, and a fresh relay offered (a new tab session).
    expect(page.locator("#error-text")).to_contain_text("RELAY_RELEASED")
    expect(page.locator("#error-text")).to_contain_text("without a heartbeat from the page")
    expect(page.locator("#reactor-view").get_by_test_id("reactor-view-notice")).to_contain_text("without a heartbeat")
    expect(page.locator("#status-text")).to_have_text("Status: disconnected")
    expect(page.locator("#reactor-view")).to_have_attribute("data-live", "false")
    expect(page.locator("#reactor-view")).not_to_contain_text("ready")
    token = page_token(page)
    wait_until(lambda: (tab := tabs.get(token)) is not None and tab is not frozen_tab, 10, "a fresh relay offered")

    page.locator("#connect-button").click()
    expect(page.locator("#status-text")).to_have_text("Status: ready", timeout=READY_TIMEOUT_MS)
    expect(page.locator("#error-text")).to_have_count(0)
    # The view shows its video only once frames arrive, and then they move.
    expect(page.locator("#reactor-view")).to_have_attribute("data-live", "true", timeout=READY_TIMEOUT_MS)
    expect(page.locator("#reactor-view").get_by_test_id("reactor-video")).to_be_visible()
    expect(page.locator("#video-waiting")).to_have_count(0)  # the page says nothing is missing
    expect_video_moving(page)

    page.locator("#disconnect-button").click()
    expect(page.locator("#status-text")).to_have_text("Status: disconnected", timeout=10_000)
