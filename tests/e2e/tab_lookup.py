"""The backend's session for a page: Reflex keeps the tab's client token in ``sessionStorage``."""

from __future__ import annotations

from playwright.sync_api import Page

from reactor_web.relay.registry import tabs
from reactor_web.relay.tab import TabSession


def page_token(page: Page) -> str:
    """The page's Reflex client token, the key of its tab session in the backend's registry."""
    token = page.evaluate("() => window.sessionStorage.getItem('token')")
    assert isinstance(token, str) and token, f"the page has no Reflex token: {token!r}"
    return token


def tab_of(page: Page) -> TabSession | None:
    """The backend's open tab session for this page (None when there is none)."""
    return tabs.get(page_token(page))
