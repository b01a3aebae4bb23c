"""What a tab's UI needs to hear from its session, coalesced.

Callbacks from the client and the relay write here; the UI's single reader takes a snapshot of what
changed since its last read. Fields keep only their latest value and the message list is bounded, so
a UI that stops reading (a closed tab) costs a fixed amount of memory.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

MAX_PENDING_MESSAGES = 100


@dataclass(slots=True)
class TabUpdate:
    """The fields that changed (by name) and the messages received since the last read."""

    fields: dict[str, Any] = field(default_factory=dict)
    messages: list[Any] = field(default_factory=list)
    closed: bool = False


class TabInbox:
    def __init__(self) -> None:
        self._fields: dict[str, Any] = {}
        self._messages: deque[Any] = deque(maxlen=MAX_PENDING_MESSAGES)
        self._changed = asyncio.Event()
        self._closed = False

    def set(self, name: str, value: Any) -> None:
        self._fields[name] = value
        self._changed.set()

    def add_message(self, message: Any) -> None:
        self._messages.append(message)
        self._changed.set()

    def close(self) -> None:
        self._closed = True
        self._changed.set()

    async def next(self) -> TabUpdate:
        """Wait for the next change; the returned update says ``closed`` once the tab is gone."""
        await self._changed.wait()
        self._changed.clear()
        update = TabUpdate(self._fields, list(self._messages), self._closed)
        self._fields = {}
        self._messages.clear()
        return update
