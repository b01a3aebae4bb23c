"""The production build a user deploys: one port, same dashboard, live video, commands."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_dashboard import connect
from tests.e2e.video import wait_for_video

pytestmark = pytest.mark.timeout(360)


def test_prod_build_streams_and_answers_commands(page: Page) -> None:
    page.locator("#webcam-publish").click()  # the scene, not the camera
    connect(page)
    rgb = wait_for_video(page, "rgb[0] + rgb[1] + rgb[2] > 60")
    assert sum(rgb) > 60, f"video is black: {rgb}"
    page.locator("#send-command-button").click()
    expect(page.locator("#messages")).to_contain_text("pong", timeout=10_000)
    page.locator("#disconnect-button").click()
    expect(page.locator("#status-text")).to_have_text("Status: disconnected", timeout=10_000)
