"""Browser tests: the real dashboard (Reflex AppHarness, dev mode) driven by Debian's Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from reflex.testing import AppHarness

from tests.browser import CHROMIUM, browser, camera_clip, playwright_session  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[2]

# Before any test module imports the app's settings (read once, at import): media on loopback, and
# dead peers noticed in seconds rather than the production defaults.
os.environ.setdefault("REACTOR_ICE_HOST_ADDRESSES", "127.0.0.1")
os.environ.setdefault("REACTOR_HEARTBEAT_TIMEOUT_S", "6")
os.environ.setdefault("REACTOR_PEER_TIMEOUT_S", "3")


@pytest.fixture(scope="package")
def dashboard() -> Iterator[AppHarness]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run scripts/setup.sh --browser")
    with AppHarness.create(root=ROOT, app_name="app") as harness:
        yield harness


@pytest.fixture
def page(browser: Browser, dashboard: AppHarness) -> Iterator[Page]:  # noqa: F811 (fixture argument)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(dashboard.frontend_url)
    yield page
    context.close()


@pytest.fixture
def disconnect_after(page: Page) -> Iterator[None]:
    """Disconnect the page's session when the test ends, rather than at the closed tab's heartbeat timeout."""
    yield
    if page.locator("#disconnect-button").count():
        page.locator("#disconnect-button").click()
        expect(page.locator("#status-text")).to_have_text("Status: disconnected", timeout=10_000)
