"""Tabs are isolated from each other, and a denied camera says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect
from reflex.testing import AppHarness

from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.test_dashboard import connect
from tests.e2e.video import mean_rgb, wait_for_video


def open_tab(browser: Browser, url: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(url)
    page.locator("#webcam-publish").click()  # show the model's own scene
    return page


def test_two_tabs_have_separate_sessions(browser: Browser, dashboard: AppHarness) -> None:
    a, b = open_tab(browser, dashboard.frontend_url), open_tab(browser, dashboard.frontend_url)
    try:
        connect(a)
        connect(b)
        wait_for_video(a, "rgb[0] + rgb[1] + rgb[2] > 60")
        wait_for_video(b, "rgb[0] + rgb[1] + rgb[2] > 60")

        slider = a.locator("#brightness-slider [role=slider]")
        slider.focus()
        slider.press("Home")
        a.locator("#send-command-button").click()
        wait_for_video(a, "rgb[0] + rgb[1] + rgb[2] < 15")
        expect(a.locator("#messages")).to_contain_text("pong")

        # Tab B is untouched: still bright, and none of A's messages.
        assert sum(mean_rgb(b) or [0]) > 60
        expect(b.locator("#messages")).not_to_contain_text("pong")
        expect(b.locator("#messages")).not_to_contain_text('"brightness":0,')  # B's own updates say 50
    finally:
        a.context.close()
        b.context.close()


@pytest.fixture
def camera_denied_page(playwright_session: Playwright, dashboard: AppHarness) -> Iterator[Page]:
    # No --use-fake-ui-for-media-stream and no permission granted: Chromium denies the camera.
    browser = playwright_session.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    page = browser.new_context().new_page()
    page.goto(dashboard.frontend_url)
    yield page
    browser.close()


def test_denied_camera_shows_the_denial_text(camera_denied_page: Page, artifacts: Path) -> None:
    expect(camera_denied_page.locator("#webcam")).to_contain_text(
        "Camera access denied. Please allow access in your browser settings.", timeout=15_000
    )
    camera_denied_page.screenshot(path=str(artifacts / "dashboard-camera-denied.png"), full_page=True)
