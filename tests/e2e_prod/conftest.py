"""Browser tests against the production build (`reflex run --env prod`, one port)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.browser import browser, camera_clip, playwright_session  # noqa: F401 (fixtures)
from tests.prod_server import serve_prod


@pytest.fixture(scope="package")
def prod_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_prod(tmp_path_factory.mktemp("prod") / "reflex.log") as url:
        yield url


@pytest.fixture
def page(browser: Browser, prod_url: str) -> Iterator[Page]:  # noqa: F811 (fixture argument)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(prod_url)
    yield page
    context.close()
