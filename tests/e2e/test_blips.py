"""A network blip shorter than the heartbeat grace period (issue 11 item 2): Playwright takes the page offline
for 3 s, which drops its websocket to the backend. The GPU session is kept, the page says "reconnecting"
(never "disconnected") and then "ready" with live video, and a command clicked during the blip is delivered
exactly once (Reflex queues it while the socket is down and sends it on reconnect)."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from tests.e2e.test_dashboard import READY_TIMEOUT_MS, connect, runtime_sessions
from tests.e2e.test_frozen_tab import expect_video_moving
from tests.e2e.test_reload_and_cycles import session_of
from tests.e2e.video import wait_for_video

#: The issue's input: the page stays offline this long (under the tests' 6 s heartbeat timeout).
BLIP_S = 3.0

# Every text the status badge shows from now on, in order.
RECORD_STATUS_JS = """
() => {
  const el = document.querySelector('#status-text');
  window.__statuses = [el.textContent];
  new MutationObserver(() => {
    const now = el.textContent;
    if (window.__statuses[window.__statuses.length - 1] !== now) window.__statuses.push(now);
  }).observe(el, { childList: true, subtree: true, characterData: true });
}
"""


def pongs(page: Page) -> int:
    return page.locator("#messages .message-row", has_text="pong").count()


def test_a_3s_blip_keeps_the_session_shows_reconnecting_and_delivers_a_click_once(page: Page) -> None:
    page.locator("#webcam-publish").click()  # the model's animated scene, so moving pixels prove live video
    connect(page)
    wait_for_video(page, "rgb[0] + rgb[1] + rgb[2] > 60")
    session_id = session_of(page)
    assert session_id is not None and runtime_sessions() == 1
    page.locator("#send-command-button").click()
    expect(page.locator("#messages .message-row", has_text="pong")).to_have_count(1, timeout=10_000)
    page.evaluate(RECORD_STATUS_JS)

    page.context.set_offline(True)
    went_offline = time.monotonic()
    expect(page.locator("#status-text")).to_have_text("Status: reconnecting", timeout=BLIP_S * 1000)
    page.locator("#send-command-button").click()  # during the blip
    time.sleep(max(0.0, BLIP_S - (time.monotonic() - went_offline)))  # the rest of the 3 s blip
    page.context.set_offline(False)

    expect(page.locator("#status-text")).to_have_text("Status: ready", timeout=READY_TIMEOUT_MS)
    # The click made during the blip arrives, once.
    expect(page.locator("#messages .message-row", has_text="pong")).to_have_count(2, timeout=10_000)
    statuses = page.evaluate("() => window.__statuses")
    assert "Status: disconnected" not in statuses, statuses
    assert statuses.index("Status: reconnecting") < len(statuses) - 1 and statuses[-1] == "Status: ready", statuses
    assert session_of(page) == session_id and runtime_sessions() == 1  # the same GPU session, no second one
    expect_video_moving(page)
    page.locator("#send-command-button").click()
    expect(page.locator("#messages .message-row", has_text="pong")).to_have_count(3, timeout=10_000)
    assert pongs(page) == 3  # no late duplicate of the blip's click
    page.locator("#disconnect-button").click()
    expect(page.locator("#status-text")).to_have_text("Status: disconnected", timeout=10_000)


#: Past the tests' 6 s heartbeat timeout: the backend gives the tab up.
LONG_OUTAGE_S = 12.0


def test_an_outage_past_the_grace_period_releases_the_session_and_says_why(page: Page) -> None:
    page.locator("#webcam-publish").click()
    connect(page)
    wait_for_video(page, "rgb[0] + rgb[1] + rgb[2] > 60")
    assert runtime_sessions() == 1
    page.evaluate(RECORD_STATUS_JS)
    page.context.set_offline(True)
    # The relay (WebRTC on loopback) stays up; its heartbeat tells the backend the page's websocket is not,
    # and the backend's goodbye on the relay says why while the page is still offline.
    notice = page.locator("#reactor-view").get_by_test_id("reactor-view-notice")
    expect(notice).to_contain_text("without the page's connection to the backend", timeout=LONG_OUTAGE_S * 1000)
    assert runtime_sessions() == 0
    page.context.set_offline(False)
    expect(page.locator("#status-text")).to_have_text("Status: disconnected", timeout=READY_TIMEOUT_MS)
    expect(page.locator("#error-text")).to_contain_text("RELAY_RELEASED")
    statuses = page.evaluate("() => window.__statuses")
    assert statuses[:2] == ["Status: ready", "Status: reconnecting"], statuses
    # A new session works.
    connect(page)
    assert runtime_sessions() == 1
    page.locator("#disconnect-button").click()
    expect(page.locator("#status-text")).to_have_text("Status: disconnected", timeout=10_000)
