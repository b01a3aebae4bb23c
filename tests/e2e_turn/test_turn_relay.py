"""The browser leg through TURN: the page forced to relay-only candidates (REACTOR_ICE_TRANSPORT_POLICY=relay)
still gets the model's video and sends its camera; a TURN server refusing the credentials shows an error."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_dashboard import connect
from tests.e2e.test_frozen_tab import expect_video_moving
from tests.e2e.video import wait_for_video
from tests.e2e_turn.conftest import RECORD_PEERS_JS, TurnServer

pytestmark = pytest.mark.timeout(420)

# The candidate types of the selected pair of the page's newest peer connection, or null before one is selected.
SELECTED_PAIR_JS = """
async () => {
  const pc = window.__peers[window.__peers.length - 1];
  if (!pc || pc.connectionState !== "connected") return null;
  const stats = await pc.getStats();
  let pairId = null;
  stats.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  const pair = pairId && stats.get(pairId);
  if (!pair) return null;
  return [stats.get(pair.localCandidateId).candidateType, stats.get(pair.remoteCandidateId).candidateType];
}
"""


def test_relay_only_page_gets_video_and_sends_its_camera(page: Page) -> None:
    expect(page.locator("#webcam [data-testid=webcam-preview]")).to_be_visible(timeout=10_000)
    connect(page)
    # The fake camera is red: the model's output takes it on, so the camera went up through TURN.
    rgb = wait_for_video(page, "rgb[0] > 120 && rgb[0] > rgb[1] * 2 && rgb[0] > rgb[2] * 2", timeout_ms=30_000)
    assert rgb[0] > rgb[1] * 2
    pair = page.wait_for_function(f"({SELECTED_PAIR_JS})()", timeout=10_000).json_value()
    assert pair[0] == "relay", f"the page's selected candidate pair is {pair}, not through TURN"
    # Model video, not one frozen frame: the scene moves (the camera off shows the model's own scene).
    page.locator("#webcam-publish").click()
    wait_for_video(page, "rgb[0] + rgb[1] + rgb[2] > 60", timeout_ms=30_000)
    expect_video_moving(page)
    page.locator("#disconnect-button").click()
    expect(page.locator("#status-text")).to_have_text("Status: disconnected", timeout=10_000)


def test_wrong_turn_password_shows_an_error(browser: Browser, prod_url: str, turn_server: TurnServer) -> None:
    # The app still holds "p"; the TURN server now wants another password.
    turn_server.start(password="not-p")
    context = browser.new_context()
    try:
        context.add_init_script(RECORD_PEERS_JS)
        page = context.new_page()
        page.goto(prod_url)
        notice = page.locator("#reactor-view [data-testid=reactor-view-notice]")
        expect(notice).to_contain_text("TURN server gave no relay candidate", timeout=30_000)
        expect(notice).to_contain_text("REACTOR_ICE_SERVERS")
        expect(notice).to_contain_text("401")  # the TURN server's answer: wrong credentials
    finally:
        context.close()
        turn_server.start()
