"""Tasks an object starts and owns: kept referenced, failures logged, waited for or cancelled together.

The event loop holds tasks only weakly, so a fire-and-forget task can vanish mid-flight; and an owner
that closes must be able to stop what it started. Shared by the client, the coordinator and the relay.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


class OwnedTasks:
    def __init__(self, logger: logging.Logger, what: str) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._logger = logger
        self._what = what

    def spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def __iter__(self) -> Iterator[asyncio.Task[Any]]:
        return iter(list(self._tasks))

    def __len__(self) -> int:
        return len(self._tasks)

    async def wait(self) -> None:
        """Wait for every task (those started meanwhile included), whatever their outcome."""
        while pending := [t for t in self._tasks if t is not asyncio.current_task()]:
            await asyncio.gather(*pending, return_exceptions=True)

    async def cancel_all(self) -> None:
        """Cancel every task but the caller's own, and wait until they have stopped."""
        current = asyncio.current_task()
        victims = [t for t in self._tasks if t is not current]
        for task in victims:
            task.cancel()
        await asyncio.gather(*victims, return_exceptions=True)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._logger.error("%s task failed", self._what, exc_info=task.exception())
