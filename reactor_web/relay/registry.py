"""The backend's tabs, by Reflex client token: one GPU session per tab, nothing shared between tabs."""

from __future__ import annotations

import asyncio

from reactor_web.relay.tab import TabSession, TabSettings


class TabRegistry:
    def __init__(self) -> None:
        self._tabs: dict[str, TabSession] = {}

    def __len__(self) -> int:
        return len(self._tabs)

    def get(self, token: str) -> TabSession | None:
        return self._tabs.get(token)

    def open(self, token: str, settings: TabSettings) -> TabSession:
        """The tab's session, created on first use (and again after it was closed)."""
        tab = self._tabs.get(token)
        if tab is None or tab.closed:
            tab = TabSession(settings, on_closed=lambda closed: self._forget(token, closed))
            self._tabs[token] = tab
        return tab

    def _forget(self, token: str, tab: TabSession) -> None:
        if self._tabs.get(token) is tab:
            del self._tabs[token]

    async def close_all(self) -> None:
        await asyncio.gather(*(tab.close() for tab in list(self._tabs.values())), return_exceptions=True)


#: This backend process's tabs. Each Reflex worker has its own; a tab's events always reach the worker
#: that holds its websocket, and so the worker that holds its session.
tabs = TabRegistry()
