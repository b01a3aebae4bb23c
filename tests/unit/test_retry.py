"""Retrying after a recoverable failure: backoff, the countdown the UI shows, and which call it makes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from reactor_web.client import ReactorError
from reactor_web.relay.inbox import TabInbox
from reactor_web.relay.retry import Retrier, RetryPolicy


class ReactorStandIn:
    """Just the surface Retrier uses: status, session id, and the two ways back."""

    def __init__(self, session_id: str | None) -> None:
        self.status = "disconnected"
        self.session_id = session_id
        self.calls: list[str] = []
        self.called = asyncio.Event()

    def get_session_id(self) -> str | None:
        return self.session_id

    async def connect(self) -> None:
        self.calls.append("connect")
        self.called.set()

    async def reconnect(self) -> None:
        self.calls.append("reconnect")
        self.called.set()


def retrier_for(reactor: ReactorStandIn, *, enabled: bool = True) -> tuple[Retrier, TabInbox]:
    inbox = TabInbox()
    tasks: set[asyncio.Task[Any]] = set()

    def spawn(coro: Any) -> None:
        tasks.add(asyncio.get_running_loop().create_task(coro))

    policy = RetryPolicy(max_attempts=2, first_delay_s=0.05, max_delay_s=1.0)
    return Retrier(reactor, inbox, spawn, enabled=enabled, policy=policy), inbox  # type: ignore[arg-type]


def test_backoff_doubles_is_capped_and_honours_retry_after() -> None:
    policy = RetryPolicy(first_delay_s=1, max_delay_s=10)
    assert [policy.delay_s(n, None) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 10]
    assert policy.delay_s(1, 7.0) == 7.0


@pytest.mark.parametrize(
    ("session_id", "code", "expected"),
    [
        ("s1", "GPU_CONNECTION_ERROR", "reconnect"),  # the session survived: re-offer
        (None, "GPU_CONNECTION_ERROR", "connect"),  # the session is gone: a new one
        ("s1", "RECONNECTION_FAILED", "connect"),  # re-offering is what failed
    ],
)
async def test_a_recoverable_error_retries_the_right_way(session_id: str | None, code: str, expected: str) -> None:
    reactor = ReactorStandIn(session_id)
    retrier, inbox = retrier_for(reactor)
    retrier.on_error(ReactorError(code, "lost", component="gpu", recoverable=True))
    retrier.on_status("disconnected")
    update = await inbox.next()
    assert update.fields["retry"] == {"in_s": 1, "attempt": 1, "of": 2, "auto": True}
    await asyncio.wait_for(reactor.called.wait(), 5)
    assert reactor.calls == [expected]


async def test_attempts_are_bounded_and_ready_resets_them() -> None:
    reactor = ReactorStandIn(None)
    retrier, _ = retrier_for(reactor)
    error = ReactorError("CONNECTION_FAILED", "down", component="coordinator", recoverable=True)
    for _ in range(3):
        reactor.called.clear()
        retrier.on_error(error)
        retrier.on_status("disconnected")
        if len(reactor.calls) < 2:
            await asyncio.wait_for(reactor.called.wait(), 5)
    assert reactor.calls == ["connect", "connect"]  # the third failure gives up
    retrier.on_status("ready")
    reactor.called.clear()
    retrier.on_error(error)
    retrier.on_status("disconnected")
    await asyncio.wait_for(reactor.called.wait(), 5)
    assert len(reactor.calls) == 3


async def test_without_auto_retry_only_retry_after_counts_down_and_nothing_is_called() -> None:
    reactor = ReactorStandIn("s1")
    retrier, inbox = retrier_for(reactor, enabled=False)
    retrier.on_error(ReactorError("CONNECTION_FAILED", "429", component="coordinator", retry_after=0.2))
    retrier.on_status("disconnected")
    assert (await inbox.next()).fields["retry"]["auto"] is False
    while (await inbox.next()).fields.get("retry", "ticking") is not None:
        pass  # the countdown ends with retry=None
    assert reactor.calls == []


async def test_a_fatal_error_or_a_cancel_schedules_nothing() -> None:
    reactor = ReactorStandIn(None)
    retrier, inbox = retrier_for(reactor)
    retrier.on_error(ReactorError("AUTHENTICATION_FAILED", "bad key", component="coordinator", recoverable=False))
    retrier.on_status("disconnected")
    retrier.on_error(ReactorError("GPU_CONNECTION_ERROR", "lost", component="gpu", recoverable=True))
    retrier.on_status("disconnected")
    retrier.cancel()  # the user pressed Disconnect
    assert (await inbox.next()).fields["retry"] is None
    assert reactor.calls == []
