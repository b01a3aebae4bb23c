"""The library test drives Chromium like the browser suites. The Playwright fixtures are package-scoped, so
they live here (as in tests/e2e): imported into a test module they would outlive the package, and the sync
API's event loop left running would break every asyncio test collected after it."""

from tests.browser import browser, camera_clip, playwright_session  # noqa: F401 (fixtures)
