"""The dashboard, unchanged, against a real reactor-runtime 3.10: only REACTOR_RUNTIME_URL points at it."""

from __future__ import annotations

from pathlib import Path

import pytest
from interop_support import DEMO_MODEL_NAME, ReactorRuntimeServer
from playwright.sync_api import expect, sync_playwright

from tests.browser import CAMERA_RGB, launch_chromium, write_y4m
from tests.e2e.test_dashboard import connect
from tests.e2e.video import wait_for_video
from tests.prod_server import serve_prod

pytestmark = pytest.mark.timeout(420)


def test_dashboard_streams_and_commands_through_reactor_runtime(
    reactor_runtime: ReactorRuntimeServer, tmp_path: Path
) -> None:
    clip = tmp_path / "camera.y4m"
    write_y4m(clip, CAMERA_RGB)
    env = {"REACTOR_RUNTIME_URL": reactor_runtime.url, "REACTOR_MODEL": DEMO_MODEL_NAME}
    with serve_prod(tmp_path / "reflex.log", env) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright, clip)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            connect(page)
            # The camera is published by default: the example model shows it, lightly tinted green.
            rgb = wait_for_video(page, "rgb[0] > 120 && rgb[0] > rgb[2] * 2")
            assert rgb[0] > rgb[2] * 2, f"the red camera does not show: {rgb}"
            page.locator("#send-command-button").click()
            expect(page.locator("#messages")).to_contain_text("pong", timeout=10_000)
            page.locator("#disconnect-button").click()
            expect(page.locator("#status-text")).to_have_text("Status: disconnected", timeout=10_000)
        finally:
            browser.close()
    assert reactor_runtime.process.poll() is None, f"reactor-runtime died:\n{reactor_runtime.log_tail()}"
