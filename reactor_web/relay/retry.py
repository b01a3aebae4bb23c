"""Retrying after a recoverable failure, with a countdown the UI shows; automatic retry is opt-in.

After a recoverable error leaves the tab disconnected, :class:`Retrier` counts down, ticking the
remaining seconds into the tab's inbox: with auto-retry on, an exponential backoff (at least the
server's ``retry_after``) and then ``reconnect()`` when the server session survived (a recoverable
transport loss) or ``connect()`` otherwise; with it off, just ``retry_after`` (when the user may retry).
Attempts are bounded; a ``ready`` status resets them; a user's Connect or Disconnect cancels.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from reactor_web.client import Reactor, ReactorError, RefusalError
from reactor_web.relay.inbox import TabInbox


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    first_delay_s: float = 1.0
    max_delay_s: float = 30.0

    def delay_s(self, attempt: int, retry_after: float | None) -> float:
        """Delay before ``attempt`` (1-based): doubling from ``first_delay_s``, never below ``retry_after``."""
        backoff = min(self.max_delay_s, self.first_delay_s * 2 ** (attempt - 1))
        return max(backoff, retry_after or 0.0)


class Retrier:
    """Schedules retries for one tab's Reactor; the inbox gets ``retry`` as ``{"in_s", "attempt", "of",
    "auto"}`` while a countdown runs, None otherwise."""

    def __init__(
        self,
        reactor: Reactor,
        inbox: TabInbox,
        spawn: Callable[[Coroutine[Any, Any, Any]], None],
        *,
        enabled: bool,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._reactor = reactor
        self._inbox = inbox
        self._spawn = spawn
        self.enabled = enabled
        self.policy = policy or RetryPolicy()
        self._attempt = 0
        self._pending_error: ReactorError | None = None
        self._task: asyncio.Task[None] | None = None

    def on_error(self, error: ReactorError) -> None:
        """Remember a recoverable failure, to retry after it once the session is down."""
        if isinstance(error, RefusalError):
            return  # one message refused, the session goes on: nothing to retry
        self._pending_error = error if error.recoverable else None

    def on_status(self, status: str) -> None:
        if status == "ready":
            self._attempt = 0
            self._pending_error = None
        elif status == "disconnected" and self._pending_error is not None:
            error, self._pending_error = self._pending_error, None
            self._schedule(error)

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        if not enabled:
            self.cancel()

    def cancel(self) -> None:
        """Stop a pending retry (the user disconnected, or turned auto-retry off)."""
        self._pending_error = None
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._inbox.set("retry", None)

    def _schedule(self, error: ReactorError) -> None:
        if not self.enabled:
            if error.retry_after:
                self._start(error.retry_after, error, auto=False)
            return
        if self._attempt >= self.policy.max_attempts:
            self._inbox.set("retry", None)
            return
        self._attempt += 1
        self._start(self.policy.delay_s(self._attempt, error.retry_after), error, auto=True)

    def _start(self, delay_s: float, error: ReactorError, *, auto: bool) -> None:
        self._task = asyncio.get_running_loop().create_task(self._count_down(delay_s, error, auto))

    def retry_now(self, error: ReactorError | None) -> None:
        """The user's Retry: what the countdown would do, at once."""
        self.cancel()
        self._retry(error)

    async def _count_down(self, delay_s: float, error: ReactorError, auto: bool) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay_s
        while (left := deadline - loop.time()) > 0:
            tick = {"in_s": math.ceil(left), "attempt": self._attempt, "of": self.policy.max_attempts, "auto": auto}
            self._inbox.set("retry", tick)
            await asyncio.sleep(min(1.0, left))  # a countdown's tick, not a wait for an outcome
        self._inbox.set("retry", None)
        self._task = None
        if auto:
            self._retry(error)

    def _retry(self, error: ReactorError | None) -> None:
        if self._reactor.status != "disconnected":
            return
        # A session that survived gets the cheaper re-offer, unless re-offering is what just failed.
        reoffer_failed = error is not None and error.code == "RECONNECTION_FAILED"
        if self._reactor.get_session_id() is not None and not reoffer_failed:
            self._spawn(self._reactor.reconnect())
        else:
            self._spawn(self._reactor.connect())
