"""The Reactor's event emitter: snake_case names, JS spellings as aliases, sync or async handlers."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

Handler = Callable[..., Any]

#: Every event the Reactor emits, with the arguments its handlers get.
EVENTS: tuple[str, ...] = (
    "status_changed",  # (status)
    "session_id_changed",  # (session_id | None)
    "session_info_changed",  # (SessionResponse): each descriptor while connecting (state, queue position)
    "capabilities_received",  # (Capabilities)
    "track_received",  # (name, track)
    "stream_changed",  # (main video track | None)
    "message",  # (payload)
    "runtime_message",  # (payload)
    "error",  # (ReactorError)
    "stats_update",  # (ConnectionStats)
    "session_expiration_changed",  # (timestamp | None)
)

#: JS SDK event names (Part A §10.2) → the names above.
ALIASES: dict[str, str] = {
    "statusChanged": "status_changed",
    "sessionIdChanged": "session_id_changed",
    "sessionInfoChanged": "session_info_changed",
    "capabilitiesReceived": "capabilities_received",
    "trackReceived": "track_received",
    "streamChanged": "stream_changed",
    "newMessage": "message",
    "runtimeMessage": "runtime_message",
    "statsUpdate": "stats_update",
    "sessionExpirationChanged": "session_expiration_changed",
}


def canonical_event(name: str) -> str:
    event = ALIASES.get(name, name)
    if event not in EVENTS:
        raise ValueError(f"unknown event {name!r}; expected one of {', '.join(EVENTS)}")
    return event


class EventEmitter:
    """Calls handlers in registration order on the emitting loop.

    A sync handler runs inline; an async one is scheduled as a task this emitter owns (``aclose``
    cancels the ones still running). A handler that raises is logged and never breaks the emitter.
    """

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {event: [] for event in EVENTS}
        self._tasks: set[asyncio.Task[Any]] = set()

    def on(self, event: str, handler: Handler) -> None:
        self._handlers[canonical_event(event)].append(handler)

    def off(self, event: str, handler: Handler) -> None:
        handlers = self._handlers[canonical_event(event)]
        if handler in handlers:
            handlers.remove(handler)

    def emit(self, event: str, *args: Any) -> None:
        for handler in list(self._handlers[event]):
            try:
                result = handler(*args)
            except Exception:
                logger.exception("reactor %s handler %r failed", event, handler)
                continue
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._tasks.add(task)
                task.add_done_callback(self._handler_done)

    def _handler_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("reactor event handler failed", exc_info=task.exception())

    async def aclose(self) -> None:
        """Cancel async handlers still running and wait for them."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
